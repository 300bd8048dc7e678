#pragma once
/// core/finding_list.hpp — a run's findings, however many there are.
///
/// A leaky fleet makes findings by the hundred thousand, each with evidence (the message, its
/// fields, the consent at send) that takes ~30 KB as a nlohmann::json tree. A FindingList keeps
/// in memory only what identifies, counts and orders a finding (`FindingHead`, ~140 bytes) and
/// stores each one's evidence compactly (CBOR) — in a spill file when it is made `on_disk`, so
/// the memory a run needs does not grow with its evidence. `load(i)` reads one finding back.
///
///     auto list = core::FindingList::on_disk(out_dir);   // or FindingList{} in memory
///     oracle.set_sink([&](core::Finding&& f) { (void)list->push_back(std::move(f)); });  // errors: status()
///     …  list->sort();
///     write_findings_json(*list, head, file);             // findings.json, one finding at a time
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/findings.hpp"
#include "core/result.hpp"

namespace consentrig::core {

class FindingList {
public:
    /// Evidence kept in memory (compact): for a check of a trace, the GUI, tests.
    FindingList();
    /// Evidence written to a file in `dir`, unlinked at once: it never outlives the list, even
    /// when the process is killed. Errors: `dir` cannot hold a file.
    [[nodiscard]] static Result<FindingList> on_disk(const std::filesystem::path& dir);
    /// A list holding `findings` in their order (evidence in memory).
    [[nodiscard]] static FindingList from(std::vector<Finding> findings);
    FindingList(FindingList&&) noexcept;
    FindingList& operator=(FindingList&&) noexcept;
    ~FindingList();

    /// Appends; a failed spill write (disk full) is returned and also kept in `status()`.
    Status push_back(Finding&& f);
    /// Stable sort by finding_less (the order findings.json and the reports list them in).
    void sort();

    [[nodiscard]] std::size_t size() const { return heads_.size(); }
    [[nodiscard]] bool empty() const { return heads_.empty(); }
    [[nodiscard]] const FindingHead& operator[](std::size_t i) const { return heads_[i]; }
    [[nodiscard]] std::span<const FindingHead> heads() const { return heads_; }
    [[nodiscard]] auto begin() const { return heads_.begin(); }
    [[nodiscard]] auto end() const { return heads_.end(); }
    [[nodiscard]] const FindingCounts& counts() const { return counts_; }
    /// The first spill error, if any (a run checks it as it goes).
    [[nodiscard]] const Status& status() const { return status_; }

    /// Finding `i` with its evidence. Errors: the spill file cannot be read back.
    [[nodiscard]] Result<Finding> load(std::size_t i) const;
    /// Only the evidence of finding `i`.
    [[nodiscard]] Result<nlohmann::json> evidence(std::size_t i) const;

private:
    struct Spill;
    struct Where {
        std::uint64_t offset = 0;
        std::uint32_t size = 0;
    };
    std::vector<FindingHead> heads_;
    std::vector<Where> where_;
    FindingCounts counts_{};
    Status status_;
    std::unique_ptr<Spill> spill_;
};

/// findings.json: `{"findings":[…], "summary":{<type>:count…,"total":n}, "version":1}` with the
/// `extra` members (metadata) merged in, written one finding at a time — byte for byte what
/// dumping the whole tree with 2-space indent (invalid UTF-8 replaced) gives. `findings` must be
/// sorted. Errors: a finding that cannot be read back, a failed write.
[[nodiscard]] Status write_findings_json(const FindingList& findings, const nlohmann::json& extra, std::ostream& out);

}  // namespace consentrig::core
