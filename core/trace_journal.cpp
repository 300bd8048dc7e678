#include "core/trace_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace consentrig::core {

namespace {

Error os_error(const std::filesystem::path& path, const char* what) {
    return Error{path.string() + ": " + what + ": " + std::strerror(errno)};
}

}  // namespace

Result<TraceJournal> TraceJournal::create(const std::filesystem::path& path, const TraceMeta& meta) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return os_error(path, "cannot create the capture journal");
    TraceJournal j(path, fd);
    std::string line = to_jsonl(meta);
    if (auto st = j.write_line(line); !st) return st.error();
    return j;
}

TraceJournal::TraceJournal(TraceJournal&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

TraceJournal& TraceJournal::operator=(TraceJournal&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        path_ = std::move(other.path_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

TraceJournal::~TraceJournal() {
    if (fd_ >= 0) ::close(fd_);
}

Status TraceJournal::append(const Record& record) {
    std::string line = to_jsonl(record);
    return write_line(line);
}

Status TraceJournal::write_line(std::string& line) {
    if (fd_ < 0) return Error{path_.string() + ": the capture journal is closed"};
    line.push_back('\n');
    std::size_t done = 0;
    while (done < line.size()) {  // a regular file writes it all at once unless the disk is full
        const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return os_error(path_, "cannot write the capture journal");
        done += static_cast<std::size_t>(n);
    }
    return {};
}

void TraceJournal::discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    std::filesystem::remove(path_, ec);
}

Result<JournalRecovery> recover_journal(const std::filesystem::path& journal, const std::filesystem::path& db) {
    JournalRecovery out;
    {
        const int fd = ::open(journal.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) return os_error(journal, "cannot open the capture journal");
        struct stat st {};
        off_t keep = 0;
        bool cut = false;
        if (::fstat(fd, &st) == 0 && st.st_size > 0) {
            // Find the end of the last complete line, reading back from the end in blocks.
            constexpr off_t kBlock = 4096;
            char buf[kBlock];
            off_t end = st.st_size;
            bool found = false;
            while (end > 0 && !found) {
                const off_t from = end > kBlock ? end - kBlock : 0;
                const ssize_t n = ::pread(fd, buf, static_cast<std::size_t>(end - from), from);
                if (n <= 0) break;
                for (ssize_t i = n - 1; i >= 0; --i) {
                    if (buf[i] == '\n') {
                        keep = from + i + 1;
                        found = true;
                        break;
                    }
                }
                end = from;
            }
            cut = keep != st.st_size;
        }
        const bool truncated = !cut || ::ftruncate(fd, keep) == 0;
        const int saved = errno;
        ::close(fd);
        errno = saved;
        if (!truncated) return os_error(journal, "cannot cut the partial last line off the capture journal");
        out.dropped_partial_line = cut;
    }
    auto n = import_jsonl(journal, db);
    if (!n) return n.error();
    out.records = *n;
    return out;
}

}  // namespace consentrig::core
