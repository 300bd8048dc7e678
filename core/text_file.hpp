#pragma once
/// core/text_file.hpp — reading a whole input file, with the errors a user should see
/// (`policy.yaml: cannot open: No such file or directory`).
#include <filesystem>
#include <string>

#include "core/result.hpp"

namespace consentrig::core {

[[nodiscard]] Result<std::string> read_text_file(const std::filesystem::path& path);

}  // namespace consentrig::core
