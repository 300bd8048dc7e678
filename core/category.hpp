#pragma once
/// core/category.hpp — the data categories of DESIGN.md ("Consent model").
#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace consentrig::core {

enum class Category : std::uint8_t {
    temperature,
    humidity,
    setpoint,
    hvac_mode,
    hvac_state,
    occupancy,
    lock_state,
    door_state,
    battery,
    connectivity,
};
inline constexpr std::size_t kCategoryCount = 10;

inline constexpr std::array<std::string_view, kCategoryCount> kCategoryNames = {
    "temperature", "humidity",   "setpoint",   "hvac_mode", "hvac_state",
    "occupancy",   "lock_state", "door_state", "battery",   "connectivity",
};

using CategorySet = std::bitset<kCategoryCount>;

[[nodiscard]] constexpr std::string_view to_string(Category c) {
    return kCategoryNames[static_cast<std::size_t>(c)];
}

/// Exact, case-sensitive match of a category name; `all` is not a category (see
/// `parse_category_list` users).
[[nodiscard]] constexpr std::optional<Category> category_from_string(std::string_view name) {
    for (std::size_t i = 0; i < kCategoryCount; ++i) {
        if (kCategoryNames[i] == name) return static_cast<Category>(i);
    }
    return std::nullopt;
}

[[nodiscard]] inline bool contains(const CategorySet& set, Category c) {
    return set.test(static_cast<std::size_t>(c));
}
inline void insert(CategorySet& set, Category c) { set.set(static_cast<std::size_t>(c)); }
[[nodiscard]] inline CategorySet all_categories() { return CategorySet{}.set(); }

/// "temperature, setpoint" in category order; "all" for every category, "" for none.
[[nodiscard]] inline std::string to_text(const CategorySet& set) {
    if (set.all()) return "all";
    std::string out;
    for (std::size_t i = 0; i < kCategoryCount; ++i) {
        if (!set.test(i)) continue;
        if (!out.empty()) out += ", ";
        out += kCategoryNames[i];
    }
    return out;
}

}  // namespace consentrig::core
