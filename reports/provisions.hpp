#pragma once
/// reports/provisions.hpp — the provisions a consentrig run gives evidence on, and which leak
/// classes bear on which provision (docs/reports.md, "Provisions").
///
/// The verdicts are in the style of an ETSI TS 103 701 functional test: each provision gets
/// PASS, FAIL or INCONCLUSIVE with the reason. consentrig tests one thing — whether device
/// state reached a partner cloud outside the customer's consent — so each verdict is about
/// what that test shows for the provision, not a full conformance assessment of it.
#include <array>
#include <bitset>
#include <cstddef>
#include <optional>
#include <string_view>

#include "core/category.hpp"
#include "core/findings.hpp"

namespace consentrig::reports {

enum class Verdict : std::uint8_t { pass, fail, inconclusive };
[[nodiscard]] constexpr std::string_view to_string(Verdict v) {
    return v == Verdict::pass ? "PASS" : v == Verdict::fail ? "FAIL" : "INCONCLUSIVE";
}

struct Provision {
    std::string_view id;           ///< stable key in report.json, e.g. `EN303645-6-1`
    std::string_view short_label;  ///< for narrow columns: `6-1`, `5.8-2`, `GDPR 7(3)`
    std::string_view label;        ///< as people cite it: `ETSI EN 303 645 provision 6-1`
    std::string_view title;        ///< a few words
    std::string_view requirement;  ///< what the provision asks, paraphrased
    std::string_view test;         ///< what consentrig checks for it (test purpose)
};

inline constexpr std::size_t kProvisionCount = 6;
enum class ProvisionId : std::uint8_t { en_6_1, en_6_2, en_6_3, en_6_4, en_5_8_2, gdpr_7_3 };
using ProvisionSet = std::bitset<kProvisionCount>;

inline constexpr std::array<Provision, kProvisionCount> kProvisions = {{
    {"EN303645-6-1", "6-1", "ETSI EN 303 645 provision 6-1", "Information on processing",
     "Consumers are told clearly what personal data is processed, how, by whom and for what purpose "
     "— third parties included.",
     "Every message goes only to a recipient the consent policy discloses, carries only data the "
     "taxonomy can name, declares a true cause, and does not signal state covertly."},
    {"EN303645-6-2", "6-2", "ETSI EN 303 645 provision 6-2", "Valid consent",
     "Where personal data is processed on the basis of consent, that consent is obtained validly.",
     "Every state category sent to a partner is covered by a grant at the send time and at the "
     "sample time (basis, window, categories, validity), and no message claims an interaction that "
     "did not happen."},
    {"EN303645-6-3", "6-3", "ETSI EN 303 645 provision 6-3", "Withdrawal of consent",
     "Consumers who gave consent can withdraw it at any time.",
     "After a withdrawal or an unlink in the trace, nothing it covers reaches the recipient (no "
     "queued retries, no backfill) — and the run actually withdrew consent."},
    {"EN303645-6-4", "6-4", "ETSI EN 303 645 provision 6-4", "Telemetry minimisation",
     "Telemetry that involves personal data is kept to the minimum necessary for the intended "
     "functionality.",
     "Nothing is sent beyond what the customer agreed to: no proactive state outside windows, no "
     "categories outside a grant's scope, no buffered samples from outside consent, no state-tracking "
     "keep-alives, no unknown fields."},
    {"EN303645-5.8-2", "5.8-2", "ETSI EN 303 645 provision 5.8-2", "Sensitive data to associated services",
     "The confidentiality of sensitive personal data communicated between the device and associated "
     "services is protected.",
     "Sensitive categories — occupancy, lock_state, door_state (presence and the security of the home) "
     "— reach an associated service only within consent. Transport encryption is outside this test."},
    {"GDPR-7-3", "GDPR 7(3)", "GDPR Art. 7(3)", "Right to withdraw consent",
     "The data subject may withdraw consent at any time; withdrawing is as easy as giving consent.",
     "As for 6-3: a withdrawal or unlink takes effect at once and completely."},
}};

[[nodiscard]] constexpr const Provision& provision(ProvisionId id) { return kProvisions[static_cast<std::size_t>(id)]; }

/// Categories that reveal presence or the security of the home (provision 5.8-2).
[[nodiscard]] constexpr bool is_sensitive(core::Category c) {
    return c == core::Category::occupancy || c == core::Category::lock_state || c == core::Category::door_state;
}

/// The provisions a leak class bears on, whatever its category (docs/reports.md has the table).
[[nodiscard]] ProvisionSet provisions_for_type(core::FindingType type);

/// The provisions one finding bears on: those of its type, plus 5.8-2 when its category is
/// sensitive.
[[nodiscard]] ProvisionSet provisions_for(core::FindingType type, std::optional<core::Category> category);
[[nodiscard]] inline ProvisionSet provisions_for(const core::FindingHead& f) { return provisions_for(f.type, f.category); }

}  // namespace consentrig::reports
