#include "reports/json_report.hpp"

#include <set>
#include <sstream>

#include "reports/render_util.hpp"

namespace consentrig::reports {
namespace {

using core::TimeMs;
using Json = nlohmann::ordered_json;

std::string ts(TimeMs t) { return core::format_rfc3339(t); }

Json counts_json(const core::FindingCounts& c) {
    Json j = Json::object();
    for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) j[std::string(core::kFindingTypeNames[i])] = c[i];
    return j;
}

Json provision_ids(const ProvisionSet& set) {
    Json a = Json::array();
    for (std::size_t p = 0; p < kProvisionCount; ++p) {
        if (set.test(p)) a.push_back(kProvisions[p].id);
    }
    return a;
}

Json intervals(const std::vector<Interval>& list) {
    Json a = Json::array();
    for (const auto& i : list) a.push_back(Json::array({ts(i.from), ts(i.to)}));
    return a;
}

Json times(const std::vector<TimeMs>& list) {
    Json a = Json::array();
    for (TimeMs t : list) a.push_back(ts(t));
    return a;
}

Json band_json(const Band& b) {
    Json j = Json::object();
    if (b.category) j["category"] = core::to_string(*b.category);
    if (b.category) j["consent"] = intervals(b.consent);
    j["sends"] = times(b.sends);
    Json leaks = Json::array();
    for (const auto& [t, fi] : b.leaks) leaks.push_back({{"t", ts(t)}, {"finding", fi}});
    j["leaks"] = std::move(leaks);
    return j;
}

Json head_json(const Report& r) {
    const ReportMeta& m = r.meta;
    const RunInfo& i = m.info;
    Json j = Json::object();
    j["schema"] = "consentrig-report";
    j["version"] = kReportSchemaVersion;
    j["verdict"] = to_string(r.verdict);
    j["verdict_reason"] = r.verdict_reason;
    Json summary = counts_json(r.aggregates.by_type);
    summary["total"] = r.findings->size();
    j["summary"] = std::move(summary);

    Json meta = Json::object();
    meta["scenario"] = i.scenario;
    meta["description"] = i.description;
    meta["scenario_file"] = i.scenario_file;
    meta["scenario_sha256"] = i.scenario_sha256;
    meta["seed"] = i.seed ? Json(*i.seed) : Json(nullptr);
    meta["consentrig_version"] = i.version;
    meta["source"] = i.source;
    meta["command"] = i.command;
    meta["trace"] = i.trace;
    meta["policy"] = i.policy;
    meta["timezone"] = m.timezone;
    meta["start"] = ts(m.start);
    meta["end"] = ts(m.end);
    meta["shard"] = i.shard ? Json{{"index", i.shard->first}, {"count", i.shard->second}} : Json(nullptr);
    meta["seconds"] = i.seconds ? Json(*i.seconds) : Json(nullptr);
    meta["incomplete"] = i.incomplete_to ? Json{{"replayed_to", ts(*i.incomplete_to)}} : Json(nullptr);
    meta["expectations"] = i.expectations.checked ? Json{{"met", i.expectations.met}, {"problems", i.expectations.problems}}
                                                  : Json(nullptr);
    meta["extra"] = Json::parse(i.extra.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    meta["devices"] = r.aggregates.devices;
    meta["records"] = m.records;
    meta["messages"] = m.messages;
    meta["state_messages"] = m.state_messages;
    meta["sensitive_messages"] = m.sensitive_messages;
    meta["interactions"] = m.interactions;
    meta["gaps"] = m.gaps;
    meta["warnings"] = m.warnings;
    j["metadata"] = std::move(meta);

    Json provs = Json::array();
    for (const auto& pr : r.provisions) {
        const Provision& p = provision(pr.id);
        provs.push_back({{"id", p.id},
                         {"label", p.label},
                         {"title", p.title},
                         {"requirement", p.requirement},
                         {"test", p.test},
                         {"verdict", to_string(pr.verdict)},
                         {"reason", pr.reason},
                         {"findings", pr.findings},
                         {"by_type", counts_json(pr.counts)},
                         {"examples", pr.examples}});
    }
    j["provisions"] = std::move(provs);

    Json mapping = Json::object();
    for (std::size_t t = 0; t < core::kFindingTypeCount; ++t) {
        mapping[std::string(core::kFindingTypeNames[t])] = provision_ids(provisions_for_type(static_cast<core::FindingType>(t)));
    }
    Json sensitive = Json::array();
    for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
        if (is_sensitive(static_cast<core::Category>(c))) sensitive.push_back(core::kCategoryNames[c]);
    }
    j["mapping"] = {{"by_type", std::move(mapping)},
                    {"sensitive_categories", std::move(sensitive)},
                    {"sensitive_adds", provision(ProvisionId::en_5_8_2).id}};

    const Aggregates& a = r.aggregates;
    Json ag = Json::object();
    ag["devices"] = a.devices;
    ag["devices_with_findings"] = a.devices_with_findings;
    ag["by_type"] = counts_json(a.by_type);
    Json by_recipient = Json::object();
    std::set<std::string> recipients;
    for (const auto& [k, v] : a.by_recipient) recipients.insert(k);
    for (const auto& [k, v] : a.messages_by_recipient) recipients.insert(k);
    for (const auto& rname : recipients) {
        core::FindingCounts c{};
        if (auto it = a.by_recipient.find(rname); it != a.by_recipient.end()) c = it->second;
        std::uint64_t total = 0;
        for (auto v : c) total += v;
        by_recipient[rname] = {{"messages", a.messages_by_recipient.contains(rname) ? a.messages_by_recipient.at(rname) : 0},
                               {"findings", total},
                               {"by_type", counts_json(c)}};
    }
    ag["by_recipient"] = std::move(by_recipient);
    Json by_category = Json::object();
    for (std::size_t c = 0; c < core::kCategoryCount; ++c) by_category[std::string(core::kCategoryNames[c])] = a.by_category[c];
    ag["by_category"] = std::move(by_category);
    Json by_profile = Json::object();
    for (const auto& [name, row] : a.by_profile) {
        by_profile[name] = {{"devices", row.devices},
                            {"with_findings", row.with_findings},
                            {"findings", row.findings},
                            {"by_type", counts_json(row.counts)}};
    }
    ag["by_profile"] = std::move(by_profile);
    Json ranked = Json::array();
    for (std::size_t k = 0; k < a.ranked.size(); ++k) {
        const auto& d = a.ranked[k];
        ranked.push_back({{"rank", k + 1},
                          {"device", d.device},
                          {"kind", d.kind},
                          {"profile", d.profile},
                          {"messages", d.messages},
                          {"findings", d.findings},
                          {"by_type", counts_json(d.counts)},
                          {"timeline", d.timeline ? Json(*d.timeline) : Json(nullptr)}});
    }
    ag["ranked"] = std::move(ranked);
    j["aggregates"] = std::move(ag);

    const Coverage& c = r.coverage;
    Json cov = Json::object();
    cov["tolerance_ms"] = c.tolerance_ms;
    cov["revocations"] = c.revocations;
    cov["revocations_exercised"] = c.revocations_exercised;
    cov["untested"] = c.untested;
    Json items = Json::array();
    for (const auto& item : c.items) {
        Json edges = Json::array();
        for (const auto& e : item.edges) {
            edges.push_back({{"t", ts(e.t)}, {"what", e.what}, {"messages", e.sends}, {"state_changes", e.changes}});
        }
        items.push_back({{"kind", item.kind},
                         {"recipient", item.recipient},
                         {"where", item.where},
                         {"subject", item.subject},
                         {"status", item.status()},
                         {"total", item.total},
                         {"exercised", item.exercised},
                         {"detail", item.detail},
                         {"edges", std::move(edges)}});
    }
    cov["items"] = std::move(items);
    j["coverage"] = std::move(cov);

    Json axis = Json::array();
    for (const auto& m2 : r.axis) axis.push_back({{"t", ts(m2.t)}, {"label", m2.label}, {"major", m2.major}});
    j["axis"] = std::move(axis);

    Json tls = Json::array();
    for (const auto& tl : r.timelines) {
        Json t = Json::object();
        t["device"] = tl.device;
        t["kind"] = tl.kind;
        t["profile"] = tl.profile;
        t["messages"] = tl.messages;
        t["findings"] = tl.findings;
        t["by_type"] = counts_json(tl.counts);
        t["truncated"] = tl.truncated;
        Json gaps = Json::array();
        for (const auto& g : tl.gaps) gaps.push_back({{"from", ts(g.from)}, {"to", ts(g.to)}, {"reason", g.reason}});
        t["gaps"] = std::move(gaps);
        t["physical_interactions"] = times(tl.physical);
        Json lanes = Json::array();
        for (const auto& lane : tl.lanes) {
            Json l = Json::object();
            l["recipient"] = lane.recipient;
            l["messages"] = lane.messages;
            l["unlinked"] = intervals(lane.unlinked);
            l["interactions"] = times(lane.interactions);
            Json events = Json::array();
            for (const auto& mk : lane.marks) {
                events.push_back({{"t", ts(mk.t)}, {"what", mk.text}, {"revokes", mk.revokes}, {"all_devices", mk.all_devices},
                                  {"line", mk.line ? Json(mk.line) : Json(nullptr)}});
            }
            l["events"] = std::move(events);
            l["strip"] = band_json(lane.strip);
            Json bands = Json::array();
            for (const auto& b : lane.bands) bands.push_back(band_json(b));
            l["bands"] = std::move(bands);
            lanes.push_back(std::move(l));
        }
        t["recipients"] = std::move(lanes);
        tls.push_back(std::move(t));
    }
    j["timelines"] = std::move(tls);
    return j;
}

}  // namespace

core::Status write_report_json(const Report& report, std::ostream& out) {
    std::string head = head_json(report).dump(1, ' ', false, Json::error_handler_t::replace);
    // head ends with "\n}"; continue the object with the findings, one per line.
    head.resize(head.size() - 2);
    out << head << ",\n \"findings\": [";
    const core::FindingList& findings = *report.findings;
    for (std::size_t i = 0; i < findings.size(); ++i) {
        auto loaded = findings.load(i);
        if (!loaded) return loaded.error();
        nlohmann::json f = core::finding_to_json(std::move(*loaded));
        f["id"] = i;
        nlohmann::json provs = nlohmann::json::array();
        const ProvisionSet set = provisions_for(findings[i]);
        for (std::size_t p = 0; p < kProvisionCount; ++p) {
            if (set.test(p)) provs.push_back(kProvisions[p].id);
        }
        f["provisions"] = std::move(provs);
        out << (i ? ",\n  " : "\n  ") << dump_json(f, -1);
    }
    out << (findings.empty() ? "]\n}\n" : "\n ]\n}\n");
    return {};
}

core::Result<std::string> report_json(const Report& report) {
    std::ostringstream out;
    if (auto st = write_report_json(report, out); !st) return st.error();
    return out.str();
}

}  // namespace consentrig::reports
