#include "core/text_file.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace consentrig::core {

Result<std::string> read_text_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return Error{name + ": cannot open: " + std::make_error_code(std::errc::is_a_directory).message()};
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno != 0 ? errno : static_cast<int>(std::errc::no_such_file_or_directory);
        return Error{name + ": cannot open: " + std::generic_category().message(err)};
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return Error{name + ": cannot read: " + std::generic_category().message(errno)};
    return text.str();
}

}  // namespace consentrig::core
