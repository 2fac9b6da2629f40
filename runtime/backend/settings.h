#pragma once
// The one place the environment is read. EPIC_DEVICE (auto|cpu|cuda) and EPIC_THREADS override the
// defaults of the backend parameters; callers apply command-line options on top.
#include "backend/backend.h"

namespace epic {

backend_params backend_params_from_environment(backend_params defaults);

} // namespace epic
