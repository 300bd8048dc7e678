#pragma once
/// tests/core/file_size_limit.hpp — a full disk for the tests that need one.
///
/// While a FileSizeLimit lives, no file this process writes can grow past `bytes`
/// (RLIMIT_FSIZE): a write past it fails with EFBIG, as on a full disk, instead of raising
/// SIGXFSZ. The limit and the signal's handler are restored when it goes, even when an
/// assertion returns early.
#include <sys/resource.h>

#include <csignal>
#include <cstddef>

namespace consentrig::testing {

class FileSizeLimit {
public:
    explicit FileSizeLimit(std::size_t bytes) {
        ok_ = getrlimit(RLIMIT_FSIZE, &before_) == 0;
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = before_;
        small.rlim_cur = static_cast<rlim_t>(bytes);
        ok_ = ok_ && setrlimit(RLIMIT_FSIZE, &small) == 0;
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;
    ~FileSizeLimit() {
        setrlimit(RLIMIT_FSIZE, &before_);
        std::signal(SIGXFSZ, old_handler_);
    }
    /// Whether the limit is in force.
    [[nodiscard]] bool ok() const { return ok_; }

private:
    rlimit before_{};
    void (*old_handler_)(int) = SIG_DFL;
    bool ok_ = false;
};

}  // namespace consentrig::testing
