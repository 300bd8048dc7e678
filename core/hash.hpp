#pragma once
/// core/hash.hpp — FNV-1a 64, the one string hash of consentrig: the simulator derives a
/// device's random streams from it (sim/rng.hpp), the oracle and the report tell a changed
/// TRUTH value from an unchanged one by it.
#include <cstdint>
#include <string_view>

namespace consentrig::core {

inline constexpr std::uint64_t kFnv1a64Offset = 0xcbf29ce484222325ULL;
inline constexpr std::uint64_t kFnv1a64Prime = 0x100000001b3ULL;

/// FNV-1a, 64 bit, over the bytes of `text`, continuing from `hash` (default: the FNV offset basis).
[[nodiscard]] constexpr std::uint64_t fnv1a64(std::string_view text,
                                              std::uint64_t hash = kFnv1a64Offset) noexcept {
    for (const char c : text) {
        hash ^= static_cast<std::uint8_t>(c);
        hash *= kFnv1a64Prime;
    }
    return hash;
}

}  // namespace consentrig::core
