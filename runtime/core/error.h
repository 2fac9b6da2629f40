#pragma once
#include "common/error.h"
