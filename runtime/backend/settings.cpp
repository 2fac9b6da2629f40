#include "backend/settings.h"

#include <cstdlib>
#include <string>

namespace epic {

backend_params backend_params_from_environment(backend_params p) {
    if (const char* d = std::getenv("EPIC_DEVICE"); d && *d) p.device = d;
    if (const char* t = std::getenv("EPIC_THREADS"); t && *t) p.n_threads = std::atoi(t);
    return p;
}

} // namespace epic
