#include "core/finding_list.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <ostream>

namespace consentrig::core {

/// Where the CBOR evidence goes: a byte string in memory, or an unlinked file with a write
/// buffer in front of it (one write(2) per kFlushBytes, not per finding).
struct FindingList::Spill {
    static constexpr std::size_t kFlushBytes = 1 << 20;

    std::string path;       ///< for error messages only; the file itself is already unlinked
    int fd = -1;            ///< -1: everything stays in `pending`
    std::uint64_t written = 0;  ///< bytes in the file; `pending` follows them
    std::string pending;

    Spill() = default;
    Spill(const Spill&) = delete;
    Spill& operator=(const Spill&) = delete;
    ~Spill() {
        if (fd >= 0) ::close(fd);
    }

    [[nodiscard]] std::uint64_t end() const { return written + pending.size(); }

    Status flush() {
        if (fd < 0) return {};
        std::size_t done = 0;
        while (done < pending.size()) {
            // At its offset, not the file's: a flush that failed half-way (disk full) is redone.
            const ssize_t n = ::pwrite(fd, pending.data() + done, pending.size() - done, static_cast<off_t>(written + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return Error{path + ": cannot write findings' evidence: " + std::strerror(errno)};
            done += static_cast<std::size_t>(n);
        }
        written += pending.size();
        pending.clear();
        return {};
    }

    Result<std::string> read(std::uint64_t offset, std::uint32_t size) {
        if (fd < 0) return pending.substr(offset, size);
        if (offset + size > written) {
            if (auto st = flush(); !st) return st.error();
        }
        std::string out(size, '\0');
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return Error{path + ": cannot read findings' evidence back: " + (n < 0 ? std::strerror(errno) : "file truncated")};
            done += static_cast<std::size_t>(n);
        }
        return out;
    }
};

FindingList::FindingList() : spill_(std::make_unique<Spill>()) {}
FindingList::FindingList(FindingList&&) noexcept = default;
FindingList& FindingList::operator=(FindingList&&) noexcept = default;
FindingList::~FindingList() = default;

Result<FindingList> FindingList::on_disk(const std::filesystem::path& dir) {
    std::string path = (dir / ".findings-XXXXXX").string();
    const int fd = ::mkstemp(path.data());
    if (fd < 0) return Error{path + ": cannot create the findings spill file: " + std::strerror(errno)};
    ::unlink(path.c_str());
    FindingList list;
    list.spill_->fd = fd;
    list.spill_->path = std::move(path);
    return list;
}

FindingList FindingList::from(std::vector<Finding> findings) {
    FindingList list;
    for (auto& f : findings) (void)list.push_back(std::move(f));  // in memory: cannot fail
    return list;
}

Status FindingList::push_back(Finding&& f) {
    Spill& s = *spill_;
    const std::uint64_t offset = s.end();
    nlohmann::json::to_cbor(f.evidence, s.pending);
    where_.push_back({offset, static_cast<std::uint32_t>(s.end() - offset)});
    ++counts_[static_cast<std::size_t>(f.type)];
    heads_.push_back(std::move(static_cast<FindingHead&>(f)));
    if (s.fd >= 0 && s.pending.size() >= Spill::kFlushBytes) {
        if (auto st = s.flush(); !st) {
            if (status_.ok()) status_ = st;
            return st;
        }
    }
    return {};
}

void FindingList::sort() {
    std::vector<std::size_t> order(heads_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [this](std::size_t a, std::size_t b) { return finding_less(heads_[a], heads_[b]); });
    // Apply the permutation in place, one cycle at a time: a second copy of the heads would
    // double the memory a million findings take.
    std::vector<bool> placed(order.size(), false);
    for (std::size_t start = 0; start < order.size(); ++start) {
        if (placed[start]) continue;
        FindingHead head = std::move(heads_[start]);
        const Where where = where_[start];
        std::size_t at = start;
        for (std::size_t from = order[at]; from != start; at = from, from = order[at]) {
            heads_[at] = std::move(heads_[from]);
            where_[at] = where_[from];
            placed[at] = true;
        }
        heads_[at] = std::move(head);
        where_[at] = where;
        placed[at] = true;
    }
}

Result<nlohmann::json> FindingList::evidence(std::size_t i) const {
    auto bytes = spill_->read(where_[i].offset, where_[i].size);
    if (!bytes) return bytes.error();
    auto j = nlohmann::json::from_cbor(*bytes, true, false);
    if (j.is_discarded()) return Error{spill_->path + ": the evidence of finding " + std::to_string(i + 1) + " is corrupt"};
    return j;
}

Result<Finding> FindingList::load(std::size_t i) const {
    auto e = evidence(i);
    if (!e) return e.error();
    Finding f;
    static_cast<FindingHead&>(f) = heads_[i];
    f.evidence = std::move(*e);
    return f;
}

Status write_findings_json(const FindingList& findings, const nlohmann::json& extra, std::ostream& out) {
    constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
    nlohmann::json head = nlohmann::json::object();
    head["version"] = 1;
    nlohmann::json summary = nlohmann::json::object();
    for (std::size_t i = 0; i < kFindingTypeCount; ++i) summary[std::string(kFindingTypeNames[i])] = findings.counts()[i];
    summary["total"] = findings.size();
    head["summary"] = std::move(summary);
    for (const auto& [key, value] : extra.items()) head[key] = value;
    head["findings"] = nlohmann::json::array();
    // Dump the head with an empty list, then write the findings where it stands: an element of
    // a top-level array is the element's own dump with every line indented by two levels.
    const std::string text = head.dump(2, ' ', false, kReplace);
    static constexpr std::string_view kEmpty = "\n  \"findings\": []";
    const std::size_t at = text.find(kEmpty);
    if (findings.empty() || at == std::string::npos) {
        out << text << "\n";
    } else {
        out << std::string_view(text).substr(0, at) << "\n  \"findings\": [";
        for (std::size_t i = 0; i < findings.size(); ++i) {
            auto f = findings.load(i);
            if (!f) return f.error();
            std::string one = finding_to_json(std::move(*f)).dump(2, ' ', false, kReplace);
            out << (i ? ",\n    " : "\n    ");
            std::size_t from = 0;
            for (std::size_t nl = one.find('\n'); nl != std::string::npos; nl = one.find('\n', from)) {
                out << std::string_view(one).substr(from, nl + 1 - from) << "    ";
                from = nl + 1;
            }
            out << std::string_view(one).substr(from);
        }
        out << "\n  ]" << std::string_view(text).substr(at + kEmpty.size()) << "\n";
    }
    if (!out) return Error{"cannot write the findings"};
    return {};
}

}  // namespace consentrig::core
