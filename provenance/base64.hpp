// Moved to util/base64.hpp (the CA transcript signs notes with it too); this header keeps the
// provenance spelling until its users include util/base64.hpp directly.
#pragma once

#include "util/base64.hpp"

namespace grafos::provenance {
using grafos::base64_decode;
using grafos::base64_encode;
}  // namespace grafos::provenance
