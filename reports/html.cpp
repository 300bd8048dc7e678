#include "reports/html.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "core/scenario.hpp"  // sha256_hex
#include "reports/escape.hpp"
#include "reports/render_util.hpp"

namespace consentrig::reports {
namespace {

using core::FindingHead;
using core::TimeMs;
using nlohmann::json;

// Every piece of device text goes through esc() (element text) or attr() (attribute values);
// markup is only ever written from literals and numbers.
std::string esc(std::string_view s) { return xml_escape(s, true); }
std::string attr(std::string_view s) { return xml_escape(s, false); }

constexpr double kWidth = 100000.0;  ///< timeline viewBox width
constexpr int kRow = 16;             ///< timeline row height, px
constexpr int kPrintRow = 10;        ///< the same on paper

const char* const kCss = R"CSS(
:root{--ok:#2e7d32;--fail:#c62828;--inc:#a15c00;--muted:#5f6368;--line:#dcdcdc;--z:1}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1b1b1b;background:#f7f7f7}
main{max-width:1500px;margin:0 auto;padding:0 20px 48px}
header.top{padding:18px 24px;color:#fff}
header.top h1{margin:0 0 4px;font-size:30px;letter-spacing:.5px}
header.top p{margin:2px 0}
header.top p.incomplete{display:inline-block;margin:6px 0;padding:4px 10px;background:#111;font-size:18px}
.PASS{background:var(--ok)}.FAIL{background:var(--fail)}.INCONCLUSIVE{background:var(--inc)}
.v{display:inline-block;white-space:nowrap;min-width:92px;text-align:center;padding:1px 8px;border-radius:3px;color:#fff;font-weight:600;font-size:12px}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:6px 24px;z-index:5}
nav a{margin-right:16px;color:#0b57d0;text-decoration:none}
h2{margin:28px 0 8px;font-size:20px;border-bottom:2px solid #333;padding-bottom:2px}
h3{margin:4px 0;font-size:16px}
h4{margin:10px 0 4px;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}
#ftable{table-layout:fixed}
#ftable td,table.kv td,table.grants td,table.fields td,table.extra td,#ranked td,#by-recipient td,#coverage-items td{overflow-wrap:anywhere}
th{background:#eef0f2;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv{width:auto}table.kv th{width:180px}
code,pre,.mono{font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;border:1px solid var(--line);padding:8px;max-height:520px;overflow:auto;margin:4px 0}
.warn{background:#fff4e5;border-left:4px solid var(--inc);padding:8px 12px;margin:8px 0}
.good{background:#e8f5e9;border-left:4px solid var(--ok);padding:8px 12px;margin:8px 0}
.muted{color:var(--muted)}
.bar{display:inline-block;height:10px;background:var(--fail);vertical-align:middle;margin-right:6px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
.grid2 td{overflow-wrap:anywhere}
.grid2 td[class^="t-"]{white-space:nowrap}
article.dev{background:#fff;border:1px solid var(--line);margin:14px 0;padding:8px 12px}
.tl{display:flex;align-items:flex-start}
.tl-labels{flex:0 0 200px;font-size:12px;padding-top:18px}
.tl-labels div{height:16px;line-height:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:6px}
.tl-labels .lane{font-weight:600}
.tl-labels.compact div{height:10px;line-height:10px;font-size:8px}
.tl-scroll{flex:1;overflow-x:auto;min-width:0}
.tl-inner{width:calc(var(--z) * 100%);position:relative}
.axis{position:relative;height:18px;font-size:11px}
.axis span{position:absolute;top:2px;white-space:nowrap;padding-left:3px;border-left:1px solid #bbb;color:#555;line-height:14px}
.axis span.major{font-weight:600;color:#000;border-left-color:#000}
svg.tlsvg{display:block;width:100%}
svg .row{fill:#f4f4f4}svg .alt{fill:#fff}
svg .ok{fill:#a5d6a7;stroke:#81c784;stroke-width:1px}
svg .unl{fill:#757575;stroke:#757575;stroke-width:1px}
svg .gap{fill:#000;fill-opacity:.13;stroke:#000;stroke-opacity:.2;stroke-width:1px}
svg .s{stroke:#1565c0;stroke-width:1px;fill:none}
svg .lk{stroke:#d50000;stroke-width:2px;fill:none}
svg .ia{stroke:#6a1b9a;stroke-width:1.5px;stroke-dasharray:3 2}
svg .ph{stroke:#8d6e63;stroke-width:1px;stroke-dasharray:1 3}
svg .rv{stroke:#ef6c00;stroke-width:3px}svg .gr{stroke:#2e7d32;stroke-width:2.5px}
svg .grid{stroke:#e3e3e3;stroke-width:1px}svg .grid.major{stroke:#9e9e9e}
svg *{vector-effect:non-scaling-stroke}
svg a line{pointer-events:stroke}
.legend{font-size:12px;margin:4px 0 8px}.legend span{margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:16px;height:10px;margin-right:4px;vertical-align:middle;border:1px solid #0002}
.controls{margin:6px 0}.controls button{margin-right:4px}.controls button.on{font-weight:700}
.cursor{font-family:ui-monospace,monospace;font-size:12px;color:var(--muted);margin-left:8px}
tbody.f tr.fr{cursor:pointer}tbody.f tr.fr:hover{background:#fff8e1}
tbody.f tr.ev{display:none}
tbody.f.open tr.ev,tbody.f:target tr.ev{display:table-row}
tbody.f:target tr.fr{background:#ffe0b2}
td.mono{white-space:nowrap}
#ftable td.mono{white-space:normal}
tr.ev>td{background:#fcfcfc;padding:8px 14px}
.filters{margin:6px 0}.filters select{margin-right:8px;max-width:240px}
.t-after_revocation,.t-unconsented_recipient,.t-outside_scope,.t-stale_sample,.t-out_of_window,.t-cause_mismatch,.t-side_channel,.t-unclassified{font-family:ui-monospace,monospace;font-size:12px}
@media print{
 nav,.controls,.filters,.cursor{display:none}
 body{background:#fff;font-size:11px}
 main{max-width:none;padding:0}
 @page{size:A4 landscape;margin:10mm}
 article.dev,table.prov tr,tbody.f tr.fr,.keep{break-inside:avoid}
 h2{break-after:avoid}
 pre{max-height:none}
 header.top{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
)CSS";

const char* const kScript = R"JS(
(function(){'use strict';
var d=document,root=d.documentElement;
d.querySelectorAll('button[data-zoom]').forEach(function(b){b.addEventListener('click',function(){
 root.style.setProperty('--z',b.getAttribute('data-zoom'));
 d.querySelectorAll('button[data-zoom]').forEach(function(x){x.classList.toggle('on',x===b);});});});
d.querySelectorAll('article.dev').forEach(function(art){
 var s=Number(art.getAttribute('data-start')),e=Number(art.getAttribute('data-end'));
 var out=art.querySelector('.cursor'),svg=art.querySelector('svg.tlsvg');
 if(!svg||!out)return;
 svg.addEventListener('mousemove',function(ev){var r=svg.getBoundingClientRect();
  var t=s+(ev.clientX-r.left)/r.width*(e-s);out.textContent=new Date(Math.round(t)).toISOString();});});
function fill(tb){tb.querySelectorAll('pre[data-m]').forEach(function(p){
 if(p.textContent)return;var m=d.getElementById('m-'+p.getAttribute('data-m'));if(m)p.textContent=m.textContent;});}
function show(tb,on){tb.classList.toggle('open',on);if(on)fill(tb);}
d.querySelectorAll('tbody.f>tr.fr').forEach(function(tr){tr.addEventListener('click',function(){
 var tb=tr.parentNode;show(tb,!tb.classList.contains('open'));});});
function onHash(){var id=location.hash.slice(1);if(!/^f-[0-9]+$/.test(id))return;
 var tb=d.getElementById(id);if(tb){tb.hidden=false;show(tb,true);}}
window.addEventListener('hashchange',onHash);onHash();
var keys=['t','d','r','c'],sels=keys.map(function(k){return d.getElementById('f'+k);});
function apply(){var n=0;d.querySelectorAll('tbody.f').forEach(function(tb){
 var ok=sels.every(function(s,i){return !s||!s.value||tb.getAttribute('data-'+keys[i])===s.value;});
 tb.hidden=!ok;if(ok)n++;});var c=d.getElementById('fcount');if(c)c.textContent=n+' shown';}
sels.forEach(function(s){if(s)s.addEventListener('change',apply);});
d.querySelectorAll('a[data-ft]').forEach(function(a){a.addEventListener('click',function(){
 sels.forEach(function(s){if(s)s.value='';});if(sels[0])sels[0].value=a.getAttribute('data-ft');apply();});});
apply();
root.setAttribute('data-ready','1');
})();
)JS";

std::string base64(const std::string& bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                           static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (i + 1 == bytes.size()) {
        const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == bytes.size()) {
        const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string sha256_base64(std::string_view text) {
    const std::string hex = core::sha256_hex(text);
    std::string raw;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return base64(raw);
}

std::string xpos(TimeMs t, TimeMs start, TimeMs end) {
    const double x = std::clamp(static_cast<double>(t - start) / static_cast<double>(end - start), 0.0, 1.0) * kWidth;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", x);
    return buf;
}

std::string pct(TimeMs t, TimeMs start, TimeMs end) {
    const double x = std::clamp(static_cast<double>(t - start) / static_cast<double>(end - start), 0.0, 1.0) * 100.0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f%%", x);
    return buf;
}

std::string verdict_badge(Verdict v) {
    const std::string name(to_string(v));
    return "<span class=\"v " + name + "\">" + name + "</span>";
}

class Page {
public:
    Page(const Report& r, const HtmlOptions& o) : r_(r), o_(o) {
        for (std::size_t k = 0; k < r.listed.size(); ++k) listed_pos_[r.listed[k]] = k;
    }
    std::string render();

private:
    const Report& r_;
    const HtmlOptions& o_;
    std::string h_;
    std::map<std::size_t, std::size_t> listed_pos_;  ///< finding index → row
    std::vector<std::string> extra_messages_;          ///< message store entries beyond report.messages

    [[nodiscard]] bool shown(std::size_t fi) const {
        auto it = listed_pos_.find(fi);
        return it != listed_pos_.end() && (!o_.print || it->second < o_.print_findings);
    }
    [[nodiscard]] std::string finding_link(std::size_t fi, std::string_view label) const {
        if (!shown(fi)) return esc(label);
        return "<a href=\"#f-" + std::to_string(fi) + "\">" + esc(label) + "</a>";
    }

    void head();
    void top();
    void provisions();
    void aggregates();
    void timelines();
    void timeline(const DeviceTimeline& tl, std::size_t index);
    void findings();
    void evidence(const FindingHead& f, std::size_t fi, bool inline_message);
    void coverage();
    void run_meta();
};

void Page::head() {
    const std::string title = "consentrig report: " + (r_.meta.info.scenario.empty() ? std::string("trace") : r_.meta.info.scenario) +
                              " — " + std::string(to_string(r_.verdict));
    const std::string csp = o_.print ? "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
                                     : "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" +
                                           sha256_base64(kScript) + "'; base-uri 'none'; form-action 'none'";
    h_ += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    h_ += "<meta http-equiv=\"Content-Security-Policy\" content=\"" + attr(csp) + "\">\n";
    h_ += "<meta name=\"referrer\" content=\"no-referrer\">\n";
    h_ += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    h_ += "<meta name=\"generator\" content=\"consentrig " + attr(r_.meta.info.version) + "\">\n";
    h_ += "<title>" + esc(title) + "</title>\n<style>" + std::string(kCss) + "</style>\n</head>\n<body>\n";
}

void Page::top() {
    const ReportMeta& m = r_.meta;
    const std::string v(to_string(r_.verdict));
    h_ += "<header class=\"top " + v + "\" id=\"verdict\"><h1>" + v + "</h1>\n";
    h_ += "<p class=\"reason\">" + esc(r_.verdict_reason) + "</p>\n<p>";
    h_ += "Scenario <b class=\"scenario\">" + esc(m.info.scenario.empty() ? "(none)" : m.info.scenario) + "</b> · ";
    h_ += std::to_string(r_.aggregates.devices) + " devices · " + std::to_string(m.messages) + " messages · " +
          std::to_string(r_.findings->size()) + " findings · " + esc(core::format_rfc3339(m.start)) + " – " +
          esc(core::format_rfc3339(m.end)) + " (UTC)";
    if (!m.info.source.empty()) h_ += " · source " + esc(m.info.source);
    h_ += "</p>\n";
    if (m.info.incomplete_to) {
        h_ += "<p class=\"incomplete\"><b>INCOMPLETE — replayed up to " + esc(core::format_rfc3339(*m.info.incomplete_to)) +
              "</b> (the run stopped before the scenario's end; nothing after that was observed)</p>\n";
    }
    if (m.info.expectations.checked) {
        h_ += "<p>Scenario expectations: <b>" + std::string(m.info.expectations.met ? "met" : "NOT met") + "</b></p>\n";
    }
    h_ += "</header>\n<nav><a href=\"#provisions\">Provisions</a><a href=\"#aggregates\">Aggregates</a>"
          "<a href=\"#timelines\">Timelines</a><a href=\"#findings\">Findings</a><a href=\"#coverage\">Coverage</a>"
          "<a href=\"#run\">Run</a></nav>\n<main>\n";
    if (!m.info.description.empty()) h_ += "<p class=\"muted\">" + esc(m.info.description) + "</p>\n";
}

void Page::provisions() {
    h_ += "<section id=\"provisions\"><h2>Provisions</h2>\n";
    h_ += "<p class=\"muted\">Functional test verdicts in the style of ETSI TS 103 701 for the ETSI EN 303 645 "
          "provisions and the GDPR article this run gives evidence on. A provision FAILs when a finding bears on it "
          "(mapping under <a href=\"#run\">Run</a>), PASSes when the run exercised it without findings, and is "
          "INCONCLUSIVE when the run did not exercise it.</p>\n";
    h_ += "<table class=\"prov\"><thead><tr><th>Provision</th><th>Requirement</th><th>Test</th><th>Verdict</th>"
          "<th>Reason</th><th>Findings</th></tr></thead><tbody>\n";
    for (const ProvisionResult& pr : r_.provisions) {
        const Provision& p = provision(pr.id);
        h_ += "<tr id=\"p-" + std::string(p.id) + "\"><td><b>" + esc(p.label) + "</b><br><span class=\"muted\">" +
              esc(p.title) + "</span></td><td>" + esc(p.requirement) + "</td><td>" + esc(p.test) + "</td><td>" +
              verdict_badge(pr.verdict) + "</td><td>" + esc(pr.reason) + "</td><td>";
        for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
            if (!pr.counts[i]) continue;
            h_ += "<a href=\"#findings\" data-ft=\"" + std::to_string(i) + "\">" + std::to_string(pr.counts[i]) + " " +
                  std::string(core::kFindingTypeNames[i]) + "</a><br>";
        }
        if (!pr.examples.empty()) {
            h_ += "<span class=\"muted\">e.g.</span> ";
            for (std::size_t fi : pr.examples) h_ += finding_link(fi, "#" + std::to_string(fi + 1)) + " ";
        }
        h_ += "</td></tr>\n";
    }
    h_ += "</tbody></table></section>\n";
}

void Page::aggregates() {
    const Aggregates& a = r_.aggregates;
    h_ += "<section id=\"aggregates\"><h2>Aggregates</h2>\n";
    h_ += "<p>" + std::to_string(a.devices) + " devices, " + std::to_string(a.devices_with_findings) +
          " with findings; " + std::to_string(r_.findings->size()) + " findings in " + std::to_string(r_.meta.messages) +
          " messages.</p>\n<div class=\"grid2\">\n";
    std::uint64_t max_type = 1;
    for (auto v : a.by_type) max_type = std::max(max_type, v);
    h_ += "<div><h3>Findings by leak class</h3><table id=\"by-type\"><thead><tr><th>leak class</th><th class=\"n\">findings</th>"
          "<th>provisions (EN 303 645, GDPR)</th></tr></thead><tbody>\n";
    for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
        const auto type = static_cast<core::FindingType>(i);
        std::string provs;
        for (std::size_t p = 0; p < kProvisionCount; ++p) {
            if (provisions_for_type(type).test(p)) provs += (provs.empty() ? "" : ", ") + std::string(kProvisions[p].short_label);
        }
        const int w = static_cast<int>(60.0 * static_cast<double>(a.by_type[i]) / static_cast<double>(max_type));
        h_ += "<tr><td class=\"t-" + std::string(core::kFindingTypeNames[i]) + "\">" + std::string(core::kFindingTypeNames[i]) +
              "</td><td class=\"n\">" + (a.by_type[i] ? "<span class=\"bar\" style=\"width:" + std::to_string(w) + "px\"></span>" : "") +
              std::to_string(a.by_type[i]) + "</td><td class=\"muted\">" + provs + "</td></tr>\n";
    }
    h_ += "</tbody></table></div>\n";
    h_ += "<div><h3>By recipient</h3><table id=\"by-recipient\"><thead><tr><th>recipient</th><th class=\"n\">messages</th>"
          "<th class=\"n\">findings</th><th>by leak class</th></tr></thead><tbody>\n";
    std::set<std::string> recipients;
    for (const auto& [rname, c] : a.by_recipient) recipients.insert(rname);
    for (const auto& [rname, n] : a.messages_by_recipient) recipients.insert(rname);
    for (const auto& rname : recipients) {
        core::FindingCounts c{};
        if (auto it = a.by_recipient.find(rname); it != a.by_recipient.end()) c = it->second;
        std::uint64_t total = 0;
        std::string parts;
        for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
            total += c[i];
            if (c[i]) parts += (parts.empty() ? "" : ", ") + std::to_string(c[i]) + " " + std::string(core::kFindingTypeNames[i]);
        }
        const auto m = a.messages_by_recipient.contains(rname) ? a.messages_by_recipient.at(rname) : 0;
        h_ += "<tr><td>" + esc(rname) + "</td><td class=\"n\">" + std::to_string(m) + "</td><td class=\"n\">" +
              std::to_string(total) + "</td><td>" + parts + "</td></tr>\n";
    }
    h_ += "</tbody></table>\n<h3>By category</h3><table id=\"by-category\"><thead><tr><th>category</th>"
          "<th class=\"n\">findings</th></tr></thead><tbody>\n";
    for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
        if (!a.by_category[c]) continue;
        h_ += "<tr><td>" + std::string(core::kCategoryNames[c]) + (is_sensitive(static_cast<core::Category>(c)) ? " <span class=\"muted\">(sensitive)</span>" : "") +
              "</td><td class=\"n\">" + std::to_string(a.by_category[c]) + "</td></tr>\n";
    }
    h_ += "</tbody></table></div>\n";
    if (!a.by_profile.empty()) {
        h_ += "<div><h3>By firmware profile</h3><table id=\"by-profile\"><thead><tr><th>profile</th><th class=\"n\">devices</th>"
              "<th class=\"n\">with findings</th><th class=\"n\">findings</th><th>by leak class</th></tr></thead><tbody>\n";
        for (const auto& [name, row] : a.by_profile) {
            std::string parts;
            for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
                if (row.counts[i]) parts += (parts.empty() ? "" : ", ") + std::to_string(row.counts[i]) + " " + std::string(core::kFindingTypeNames[i]);
            }
            h_ += "<tr><td>" + esc(name.empty() ? "(unknown)" : name) + "</td><td class=\"n\">" + std::to_string(row.devices) +
                  "</td><td class=\"n\">" + std::to_string(row.with_findings) + "</td><td class=\"n\">" +
                  std::to_string(row.findings) + "</td><td>" + parts + "</td></tr>\n";
        }
        h_ += "</tbody></table></div>\n";
    }
    h_ += "</div>\n";
    h_ += "<h3>Devices ranked by findings</h3>\n";
    if (a.ranked.empty()) {
        h_ += "<p class=\"good\">No device has a finding.</p>\n";
    } else {
        if (a.devices_with_findings > a.ranked.size()) {
            h_ += "<p class=\"muted\">The " + std::to_string(a.ranked.size()) + " worst of " +
                  std::to_string(a.devices_with_findings) + " devices with findings; report.json holds every finding.</p>\n";
        }
        h_ += "<table id=\"ranked\"><thead><tr><th class=\"n\">rank</th><th>device</th><th>kind</th><th>profile</th>"
              "<th class=\"n\">messages</th><th class=\"n\">findings</th><th>by leak class</th></tr></thead><tbody>\n";
        const std::size_t ranked_rows = o_.print ? std::min(o_.print_ranked, a.ranked.size()) : a.ranked.size();
        for (std::size_t k = 0; k < ranked_rows; ++k) {
            const DeviceRank& d = a.ranked[k];
            std::string parts;
            for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
                if (d.counts[i]) parts += (parts.empty() ? "" : ", ") + std::to_string(d.counts[i]) + " " + std::string(core::kFindingTypeNames[i]);
            }
            const bool linked = d.timeline && (!o_.print || *d.timeline < o_.print_timelines);
            h_ += "<tr><td class=\"n\">" + std::to_string(k + 1) + "</td><td>" +
                  (linked ? "<a href=\"#d-" + std::to_string(*d.timeline) + "\">" + esc(d.device) + "</a>" : esc(d.device)) +
                  "</td><td>" + esc(d.kind) + "</td><td>" + esc(d.profile) + "</td><td class=\"n\">" +
                  std::to_string(d.messages) + "</td><td class=\"n\">" + std::to_string(d.findings) + "</td><td>" + parts +
                  "</td></tr>\n";
        }
        h_ += "</tbody></table>\n";
    }
    h_ += "</section>\n";
}

void Page::timelines() {
    h_ += "<section id=\"timelines\"><h2>Timelines</h2>\n";
    const std::size_t n = o_.print ? std::min(o_.print_timelines, r_.timelines.size()) : r_.timelines.size();
    if (r_.aggregates.devices > n) {
        h_ += "<p class=\"muted\">Full timelines for the " + std::to_string(n) + " worst of " +
              std::to_string(r_.aggregates.devices) + " devices (most findings first).</p>\n";
    }
    h_ += "<div class=\"legend\"><span><i style=\"background:#a5d6a7\"></i>consent held</span>"
          "<span><i style=\"background:#757575\"></i>unlinked</span>"
          "<span><i style=\"background:#1565c0;width:3px\"></i>message</span>"
          "<span><i style=\"background:#d50000;width:3px\"></i>leak (click: evidence)</span>"
          "<span><i style=\"background:#6a1b9a;width:3px\"></i>interaction via the recipient</span>"
          "<span><i style=\"background:#8d6e63;width:3px\"></i>physical interaction</span>"
          "<span><i style=\"background:#ef6c00\"></i>withdrawal / unlink</span>"
          "<span><i style=\"background:#2e7d32\"></i>consent given back / linked</span>"
          "<span><i style=\"background:rgba(0,0,0,.13)\"></i>capture gap</span>"
          "<span class=\"muted\">axis: " + esc(r_.meta.timezone) + " local time</span></div>\n";
    if (!o_.print) {
        h_ += "<div class=\"controls\">Zoom: <button type=\"button\" data-zoom=\"1\" class=\"on\">1×</button>"
              "<button type=\"button\" data-zoom=\"4\">4×</button><button type=\"button\" data-zoom=\"16\">16×</button>"
              "<button type=\"button\" data-zoom=\"64\">64×</button><button type=\"button\" data-zoom=\"256\">256×</button>"
              " <span class=\"muted\">(scroll sideways; hover a timeline for the time, UTC)</span></div>\n";
    }
    for (std::size_t i = 0; i < n; ++i) timeline(r_.timelines[i], i);
    if (r_.timelines.empty()) h_ += "<p class=\"muted\">No device in the trace.</p>\n";
    h_ += "</section>\n";
}

void Page::timeline(const DeviceTimeline& tl, std::size_t index) {
    const TimeMs start = r_.meta.start, end = r_.meta.end;
    h_ += "<article class=\"dev\" id=\"d-" + std::to_string(index) + "\" data-start=\"" + std::to_string(start) +
          "\" data-end=\"" + std::to_string(end) + "\">\n<h3>" + esc(tl.device) + "</h3>\n<p class=\"muted\">";
    if (!tl.kind.empty()) h_ += esc(tl.kind) + " · ";
    if (!tl.profile.empty()) h_ += "profile " + esc(tl.profile) + " · ";
    h_ += std::to_string(tl.messages) + " messages · " + std::to_string(tl.findings) + " findings";
    for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
        if (tl.counts[i]) h_ += " · " + std::to_string(tl.counts[i]) + " " + std::string(core::kFindingTypeNames[i]);
    }
    if (!tl.gaps.empty()) h_ += " · " + std::to_string(tl.gaps.size()) + " capture gaps";
    if (tl.truncated) h_ += " · message ticks truncated";
    h_ += "<span class=\"cursor\"></span></p>\n";

    // Rows: per lane, the strip, then one band per category.
    std::string labels = "";
    std::string svg;
    int row = 0;
    const int kRowH = o_.print ? kPrintRow : kRow;
    auto y = [kRowH](int r) { return r * kRowH; };
    std::size_t links = 0;
    std::string grid;
    const int total_rows = [&] {
        int n = 0;
        for (const auto& lane : tl.lanes) n += 1 + static_cast<int>(lane.bands.size());
        return std::max(n, 1);
    }();
    const int height = total_rows * kRowH;
    for (const AxisMark& m : r_.axis) {
        grid += "<line class=\"grid" + std::string(m.major ? " major" : "") + "\" x1=\"" + xpos(m.t, start, end) +
                "\" x2=\"" + xpos(m.t, start, end) + "\" y1=\"0\" y2=\"" + std::to_string(height) + "\"/>";
    }
    auto tick_path = [&](const std::vector<TimeMs>& ts, int r) {
        if (ts.empty()) return std::string();
        std::string d;
        d.reserve(ts.size() * 20);
        for (TimeMs t : ts) d += "M" + xpos(t, start, end) + " " + std::to_string(y(r) + 2) + "V" + std::to_string(y(r) + kRowH - 2);
        return "<path class=\"s\" d=\"" + d + "\"/>";
    };
    auto leak_ticks = [&](const std::vector<std::pair<TimeMs, std::size_t>>& leaks, int r) {
        std::string out, rest;
        TimeMs last = std::numeric_limits<TimeMs>::min();
        for (const auto& [t, fi] : leaks) {
            const std::string x = xpos(t, start, end);
            if (t == last) continue;  // several findings of one message: one tick
            last = t;
            if (links < o_.max_links_per_device && shown(fi)) {
                ++links;
                const FindingHead& f = (*r_.findings)[fi];
                out += "<a href=\"#f-" + std::to_string(fi) + "\"><line class=\"lk\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" +
                       std::to_string(y(r) + 1) + "\" y2=\"" + std::to_string(y(r) + kRowH - 1) + "\"><title>" +
                       esc(std::string(core::to_string(f.type)) + " at " + core::format_rfc3339(t) + " to " + f.recipient) +
                       "</title></line></a>";
            } else {
                rest += "M" + x + " " + std::to_string(y(r) + 1) + "V" + std::to_string(y(r) + kRowH - 1);
            }
        }
        if (!rest.empty()) out += "<path class=\"lk\" d=\"" + rest + "\"/>";
        return out;
    };
    auto rect = [&](const char* cls, TimeMs a, TimeMs b, int y0, int h, const std::string& title) {
        const double x0 = std::stod(xpos(a, start, end)), x1 = std::stod(xpos(b, start, end));
        char buf[160];
        std::snprintf(buf, sizeof buf, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">", cls, x0, y0,
                      std::max(x1 - x0, 0.0), h);
        return std::string(buf) + "<title>" + esc(title) + "</title></rect>";
    };
    for (const Lane& lane : tl.lanes) {
        const int lane_top = row;
        const int lane_rows = 1 + static_cast<int>(lane.bands.size());
        labels += "<div class=\"lane\" title=\"" + attr(lane.recipient) + "\">" + esc(lane.recipient) + "</div>";
        svg += "<rect class=\"row\" x=\"0\" y=\"" + std::to_string(y(row)) + "\" width=\"" + std::to_string(static_cast<int>(kWidth)) +
               "\" height=\"" + std::to_string(kRowH) + "\"/>";
        for (const Interval& u : lane.unlinked) {
            svg += rect("unl", u.from, u.to, y(row) + 3, kRowH - 6,
                        lane.recipient + " unlinked " + core::format_rfc3339(u.from) + " – " + core::format_rfc3339(u.to));
        }
        svg += tick_path(lane.strip.sends, row);
        svg += leak_ticks(lane.strip.leaks, row);
        ++row;
        for (std::size_t b = 0; b < lane.bands.size(); ++b) {
            const Band& band = lane.bands[b];
            const std::string cname(core::to_string(*band.category));
            labels += "<div>" + cname + "</div>";
            svg += "<rect class=\"row" + std::string(b % 2 ? "" : " alt") + "\" x=\"0\" y=\"" + std::to_string(y(row)) +
                   "\" width=\"" + std::to_string(static_cast<int>(kWidth)) + "\" height=\"" + std::to_string(kRowH) + "\"/>";
            for (const Interval& c : band.consent) {
                svg += rect("ok", c.from, c.to, y(row) + 3, kRowH - 6,
                            cname + " to " + lane.recipient + ": consent held " + core::format_rfc3339(c.from) + " – " +
                                core::format_rfc3339(c.to));
            }
            svg += tick_path(band.sends, row);
            svg += leak_ticks(band.leaks, row);
            ++row;
        }
        const std::string y0 = std::to_string(y(lane_top)), y1 = std::to_string(y(lane_top + lane_rows));
        for (TimeMs t : lane.interactions) {
            const std::string x = xpos(t, start, end);
            svg += "<line class=\"ia\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y0 + "\" y2=\"" + y1 + "\"><title>" +
                   esc("interaction via " + lane.recipient + " at " + core::format_rfc3339(t)) + "</title></line>";
        }
        for (const ConsentMark& m : lane.marks) {
            const std::string x = xpos(m.t, start, end);
            svg += "<line class=\"" + std::string(m.revokes ? "rv" : "gr") + "\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + y0 +
                   "\" y2=\"" + y1 + "\"><title>" +
                   esc(lane.recipient + " " + m.text + " at " + core::format_rfc3339(m.t) + (m.all_devices ? " (all devices)" : "") +
                       (m.line ? " — trace line " + std::to_string(m.line) : "")) +
                   "</title></line>";
        }
    }
    if (tl.lanes.empty()) {
        labels += "<div class=\"muted\">no recipient</div>";
        ++row;
    }
    for (TimeMs t : tl.physical) {
        const std::string x = xpos(t, start, end);
        svg += "<line class=\"ph\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"0\" y2=\"" + std::to_string(height) + "\"><title>" +
               esc("physical interaction at " + core::format_rfc3339(t)) + "</title></line>";
    }
    for (const Gap& g : tl.gaps) {
        svg += rect("gap", g.from, std::max(g.to, g.from + 1), 0, height,
                    "capture gap " + core::format_rfc3339(g.from) + " – " + core::format_rfc3339(g.to) + ": " + g.reason);
    }
    h_ += "<div class=\"tl\"><div class=\"tl-labels" + std::string(o_.print ? " compact" : "") + "\">" + labels + "</div><div class=\"tl-scroll\"><div class=\"tl-inner\"><div class=\"axis\">";
    // Paper is narrow: beyond two days only the days are labelled.
    const bool majors_only = o_.print && end - start > 2 * core::kMsPerDay;
    for (const AxisMark& m : r_.axis) {
        if (majors_only && !m.major) continue;
        h_ += "<span" + std::string(m.major ? " class=\"major\"" : "") + " style=\"left:" + pct(m.t, start, end) + "\">" +
              esc(m.label) + "</span>";
    }
    h_ += "</div><svg class=\"tlsvg\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + std::to_string(static_cast<int>(kWidth)) +
          " " + std::to_string(height) + "\" preserveAspectRatio=\"none\" height=\"" + std::to_string(height) +
          "\" role=\"img\" aria-label=\"timeline\">" + grid + svg + "</svg></div></div></div>\n</article>\n";
}

std::string provision_ids(const FindingHead& f) {
    std::string out;
    const ProvisionSet set = provisions_for(f);
    for (std::size_t p = 0; p < kProvisionCount; ++p) {
        if (set.test(p)) out += (out.empty() ? "" : ", ") + std::string(kProvisions[p].short_label);
    }
    return out;
}

void Page::findings() {
    h_ += "<section id=\"findings\"><h2>Findings</h2>\n";
    if (r_.findings->empty()) {
        h_ += "<p class=\"good\">No findings: every message was covered by consent.</p></section>\n";
        return;
    }
    const std::size_t rows = o_.print ? std::min(o_.print_findings, r_.listed.size()) : r_.listed.size();
    if (rows < r_.findings->size()) {
        h_ += "<p class=\"muted\">" + std::to_string(rows) + " of " + std::to_string(r_.findings->size()) +
              " findings listed (one of each leak class × recipient, then the worst devices'); report.json and "
              "findings.json hold all of them.</p>\n";
    }
    // Filter values are indices, never device text.
    std::vector<std::string> devices, recipients;
    std::map<std::string, std::size_t> dev_ix, rec_ix;
    std::array<std::uint64_t, core::kFindingTypeCount> types{};
    std::array<std::uint64_t, core::kCategoryCount + 1> cats{};
    for (std::size_t k = 0; k < rows; ++k) {
        const FindingHead& f = (*r_.findings)[r_.listed[k]];
        if (dev_ix.emplace(f.device, devices.size()).second) devices.push_back(f.device);
        if (rec_ix.emplace(f.recipient, recipients.size()).second) recipients.push_back(f.recipient);
        ++types[static_cast<std::size_t>(f.type)];
        ++cats[f.category ? static_cast<std::size_t>(*f.category) : core::kCategoryCount];
    }
    if (!o_.print) {
        h_ += "<div class=\"filters\">Filter: <select id=\"ft\" aria-label=\"leak class\"><option value=\"\">every leak class</option>";
        for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
            if (types[i]) h_ += "<option value=\"" + std::to_string(i) + "\">" + std::string(core::kFindingTypeNames[i]) + " (" + std::to_string(types[i]) + ")</option>";
        }
        h_ += "</select><select id=\"fd\" aria-label=\"device\"><option value=\"\">every device</option>";
        for (const auto& [name, i] : dev_ix) h_ += "<option value=\"" + std::to_string(i) + "\">" + esc(name) + "</option>";
        h_ += "</select><select id=\"fr\" aria-label=\"recipient\"><option value=\"\">every recipient</option>";
        for (const auto& [name, i] : rec_ix) h_ += "<option value=\"" + std::to_string(i) + "\">" + esc(name) + "</option>";
        h_ += "</select><select id=\"fc\" aria-label=\"category\"><option value=\"\">every category</option>";
        for (std::size_t c = 0; c <= core::kCategoryCount; ++c) {
            if (cats[c]) h_ += "<option value=\"" + std::to_string(c) + "\">" + (c < core::kCategoryCount ? std::string(core::kCategoryNames[c]) : std::string("(none)")) + "</option>";
        }
        h_ += "</select><span id=\"fcount\" class=\"muted\"></span> <span class=\"muted\">Click a row for its evidence.</span></div>\n";
    }
    std::set<std::tuple<std::size_t, std::string_view, std::string_view>> evidence_keys;
    std::size_t evidence_shown = 0;
    if (o_.print) {
        h_ += "<p class=\"muted\">The evidence of the first finding of each leak class × device × recipient is shown "
              "below its row (at most " + std::to_string(o_.print_evidence) + "); report.html and report.json hold all of it.</p>\n";
    }
    h_ += "<table id=\"ftable\"><colgroup><col style=\"width:6%\"><col style=\"width:15%\"><col style=\"width:13%\">"
          "<col style=\"width:13%\"><col style=\"width:11%\"><col style=\"width:9%\"><col style=\"width:9%\">"
          "<col style=\"width:24%\"></colgroup><thead><tr><th class=\"n\">#</th><th>sent (UTC)</th><th>leak class</th><th>device</th>"
          "<th>recipient</th><th>category</th><th>provisions</th><th>reason</th></tr></thead>\n";
    for (std::size_t k = 0; k < rows; ++k) {
        const std::size_t fi = r_.listed[k];
        const FindingHead& f = (*r_.findings)[fi];
        const std::size_t c = f.category ? static_cast<std::size_t>(*f.category) : core::kCategoryCount;
        // Print: the evidence of the first finding of each leak class × device × recipient.
        bool open = false;
        if (o_.print && evidence_shown < o_.print_evidence &&
            evidence_keys.insert({static_cast<std::size_t>(f.type), f.device, f.recipient}).second) {
            open = true;
            ++evidence_shown;
        }
        h_ += "<tbody class=\"f" + std::string(open ? " open" : "") + "\" id=\"f-" + std::to_string(fi) + "\" data-t=\"" +
              std::to_string(static_cast<std::size_t>(f.type)) + "\" data-d=\"" + std::to_string(dev_ix[f.device]) +
              "\" data-r=\"" + std::to_string(rec_ix[f.recipient]) + "\" data-c=\"" + std::to_string(c) + "\">";
        std::string reason;
        if (const json& e = r_.evidence.at(fi); e.is_object() && e.contains("reason") && e["reason"].is_string()) {
            reason = e["reason"].get<std::string>();
        }
        h_ += "<tr class=\"fr\"><td class=\"n\">" + std::to_string(fi + 1) + "</td><td class=\"mono\">" +
              esc(core::format_rfc3339(f.t)) + "</td><td class=\"t-" + std::string(core::to_string(f.type)) + "\">" +
              std::string(core::to_string(f.type)) + "</td><td>" + esc(f.device) + "</td><td>" + esc(f.recipient) +
              "</td><td>" + (f.category ? std::string(core::to_string(*f.category)) : std::string("—")) +
              (f.field.empty() ? "" : " <span class=\"mono\">" + esc(f.field) + "</span>") + "</td><td class=\"muted\">" +
              provision_ids(f) + "</td><td>" + esc(reason) + "</td></tr>";
        if (!o_.print || open) {
            h_ += "<tr class=\"ev\"><td colspan=\"8\">";
            evidence(f, fi, o_.print);
            h_ += "</td></tr>";
        }
        h_ += "</tbody>\n";
    }
    h_ += "</table></section>\n";
}

std::string json_cell(const json& v) {
    if (v.is_string()) return esc(v.get<std::string>());
    return "<span class=\"mono\">" + esc(dump_json(v, -1)) + "</span>";
}

void Page::evidence(const FindingHead& f, std::size_t fi, bool inline_message) {
    const json& e = r_.evidence.at(fi);
    h_ += "<div class=\"evb\">";
    if (!e.is_object()) {
        h_ += "<p class=\"muted\">No evidence.</p></div>";
        return;
    }
    if (e.contains("reason")) h_ += "<p><b>Why:</b> " + json_cell(e["reason"]) + "</p>";
    // Facts: every scalar member, in a fixed order first.
    static const std::array<const char*, 10> kFirst = {"sent", "sampled", "format", "line", "cause", "declared_cause",
                                                       "field", "key", "tolerance_ms", "p_value"};
    std::set<std::string> done = {"reason", "message", "first_message", "fields", "consent_at_send", "consent_at_sample",
                                  "recent_interactions", "lag"};
    h_ += "<table class=\"kv\"><tbody>";
    h_ += "<tr><th>device</th><td>" + esc(f.device) + "</td></tr><tr><th>recipient</th><td>" + esc(f.recipient) + "</td></tr>";
    for (const char* k : kFirst) {
        if (e.contains(k)) h_ += "<tr><th>" + std::string(k) + "</th><td>" + json_cell(e[k]) + "</td></tr>";
        done.insert(k);
    }
    for (const auto& [k, v] : e.items()) {
        if (done.contains(k)) continue;
        h_ += "<tr><th>" + esc(k) + "</th><td>" + json_cell(v) + "</td></tr>";
    }
    h_ += "</tbody></table>";
    auto consent = [&](const char* key, const char* title) {
        if (!e.contains(key) || !e[key].is_object()) return;
        const json& c = e[key];
        h_ += "<h4>" + std::string(title) + "</h4><p>";
        const bool linked = c.value("linked", true);
        h_ += linked ? "Linked." : "<b>Unlinked</b>";
        if (c.contains("unlinked_at")) h_ += " at " + json_cell(c["unlinked_at"]);
        if (c.contains("unlinked_line")) h_ += " (trace line " + json_cell(c["unlinked_line"]) + ")";
        if (!linked) h_ += ".";
        if (c.contains("withdrawn_at")) {
            h_ += " Consent for this category <b>withdrawn</b> at " + json_cell(c["withdrawn_at"]);
            if (c.contains("withdrawn_line")) h_ += " (trace line " + json_cell(c["withdrawn_line"]) + ")";
            h_ += ".";
        }
        h_ += "</p>";
        if (c.contains("grants") && c["grants"].is_array()) {
            if (c["grants"].empty()) {
                h_ += "<p>No grant names this recipient for this device.</p>";
            } else {
                h_ += "<table class=\"grants\"><thead><tr><th>grant</th><th>basis</th><th>categories</th><th>validity / windows</th>"
                      "<th>holds</th><th>why</th></tr></thead><tbody>";
                for (const auto& g : c["grants"]) {
                    if (!g.is_object()) continue;
                    std::string validity;
                    if (g.contains("from")) validity += "from " + json_cell(g["from"]) + " ";
                    if (g.contains("until")) validity += "until " + json_cell(g["until"]) + " ";
                    if (g.contains("windows")) validity += json_cell(g["windows"]) + " ";
                    if (g.contains("within_ms")) validity += "within " + json_cell(g["within_ms"]) + " ms";
                    h_ += "<tr><td class=\"mono\">" + json_cell(g.value("where", json(""))) + "</td><td>" +
                          json_cell(g.value("basis", json(""))) + "</td><td>" + json_cell(g.value("categories", json::array())) +
                          "</td><td>" + validity + "</td><td>" + (g.value("holds", false) ? "yes" : "<b>no</b>") + "</td><td>" +
                          json_cell(g.value("why", json(""))) + "</td></tr>";
                }
                h_ += "</tbody></table>";
            }
        }
    };
    consent("consent_at_send", "Consent state at the send time");
    consent("consent_at_sample", "Consent state at the sample time");
    if (e.contains("fields") && e["fields"].is_array() && !e["fields"].empty()) {
        h_ += "<h4>Decoded fields</h4><table class=\"fields\"><thead><tr><th>path</th><th>key</th><th>category</th><th>value</th>"
              "<th>sample time</th></tr></thead><tbody>";
        for (const auto& fl : e["fields"]) {
            if (!fl.is_object()) continue;
            const bool here = f.category && fl.value("category", json()).is_string() &&
                              fl["category"].get<std::string>() == core::to_string(*f.category);
            h_ += std::string(here ? "<tr style=\"background:#ffebee\">" : "<tr>") + "<td class=\"mono\">" +
                  json_cell(fl.value("path", json(""))) + "</td><td class=\"mono\">" + json_cell(fl.value("key", json(""))) +
                  "</td><td>" + (fl.value("category", json()).is_null() ? std::string("<b>unclassified</b>") : json_cell(fl["category"])) +
                  "</td><td>" + json_cell(fl.value("value", json())) + "</td><td class=\"mono\">" +
                  json_cell(fl.value("sample_time", json(""))) + "</td></tr>";
        }
        h_ += "</tbody></table>";
    }
    if (e.contains("recent_interactions") && e["recent_interactions"].is_array()) {
        h_ += "<h4>Interactions before the send</h4>";
        if (e["recent_interactions"].empty()) h_ += "<p>None.</p>";
        else h_ += "<pre>" + esc(dump_json(e["recent_interactions"], 2)) + "</pre>";
    }
    if (e.contains("lag")) h_ += "<h4>Lag after the state change</h4><pre>" + esc(dump_json(e["lag"], -1)) + "</pre>";
    h_ += "<h4>Message as captured</h4>";
    auto it = r_.message_of.find(fi);
    std::string body;
    if (it != r_.message_of.end()) body = pretty_verbatim(r_.messages[it->second]);
    else if (e.contains("message")) body = dump_json(e["message"], 2);
    else if (e.contains("first_message")) body = dump_json(e["first_message"], 2);
    if (inline_message || it == r_.message_of.end()) {
        h_ += "<pre class=\"msg\">" + esc(body) + "</pre>";
    } else {
        h_ += "<pre class=\"msg\" data-m=\"" + std::to_string(it->second) + "\"></pre>";
    }
    h_ += "</div>";
}

void Page::coverage() {
    const Coverage& c = r_.coverage;
    h_ += "<section id=\"coverage\"><h2>Coverage</h2>\n<p class=\"muted\">Which boundaries of the consent policy the run "
          "probed: a boundary counts as exercised when a state message to its recipient, or a change of the device's "
          "true state in a category it covers, lies within ±" + esc(core::format_duration(c.tolerance_ms)) +
          " of it (interaction windows: the window length if shorter); a withdrawal or unlink when a device sent or "
          "changed an affected state while it was in force.</p>\n";
    if (c.untested.empty()) {
        h_ += "<p class=\"good\">Every boundary the policy and the trace define was exercised.</p>\n";
    } else {
        h_ += "<div class=\"warn\" id=\"untested\"><b>Not tested by this run:</b><ul>";
        for (const auto& s : c.untested) h_ += "<li>" + esc(s) + "</li>";
        h_ += "</ul></div>\n";
    }
    h_ += "<table id=\"coverage-items\"><thead><tr><th>boundary</th><th>recipient</th><th>where</th><th>what</th><th>status</th>"
          "<th class=\"n\">exercised</th><th>detail</th></tr></thead><tbody>\n";
    for (const CoverageItem& item : c.items) {
        h_ += "<tr><td>" + esc(item.kind) + "</td><td>" + esc(item.recipient) + "</td><td class=\"mono\">" + esc(item.where) +
              "</td><td>" + esc(item.subject);
        if (!item.edges.empty()) {
            h_ += std::string("<details") + (o_.print ? " open" : "") + "><summary>" + std::to_string(item.edges.size()) +
                  " edges</summary><table><thead><tr><th>edge (UTC)</th><th>what</th><th class=\"n\">messages</th>"
                  "<th class=\"n\">state changes</th></tr></thead><tbody>";
            const std::size_t shown_edges = o_.print ? std::min<std::size_t>(item.edges.size(), 40) : item.edges.size();
            for (std::size_t k = 0; k < shown_edges; ++k) {
                const auto& e = item.edges[k];
                h_ += std::string(e.exercised() ? "<tr>" : "<tr style=\"background:#fff4e5\">") + "<td class=\"mono\">" +
                      esc(core::format_rfc3339(e.t)) + "</td><td>" + esc(e.what) + "</td><td class=\"n\">" +
                      std::to_string(e.sends) + "</td><td class=\"n\">" + std::to_string(e.changes) + "</td></tr>";
            }
            h_ += "</tbody></table></details>";
        }
        h_ += "</td><td>" + esc(item.status()) + "</td><td class=\"n\">" + std::to_string(item.exercised) + " / " +
              std::to_string(item.total) + "</td><td>" + esc(item.detail) + "</td></tr>\n";
    }
    h_ += "</tbody></table></section>\n";
}

void Page::run_meta() {
    const ReportMeta& m = r_.meta;
    const RunInfo& i = m.info;
    h_ += "<section id=\"run\"><h2>Run</h2>\n<table class=\"kv\" id=\"meta\"><tbody>\n";
    auto row = [&](const std::string& k, const std::string& v) {
        if (!v.empty()) h_ += "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>\n";
    };
    row("scenario", i.scenario);
    row("scenario file", i.scenario_file);
    row("scenario sha256", i.scenario_sha256);
    row("seed", i.seed ? std::to_string(*i.seed) : "");
    row("source", i.source == "sim" ? "sim (fleet simulator)" : i.source == "bench" ? "bench (boards on the rig)" : i.source);
    row("consentrig version", i.version);
    row("command", i.command);
    row("trace", i.trace);
    row("policy", i.policy);
    row("timezone", m.timezone);
    row("observed from", core::format_rfc3339(m.start));
    row("observed until", core::format_rfc3339(m.end));
    if (i.shard) row("shard", std::to_string(i.shard->first) + " of " + std::to_string(i.shard->second));
    row("devices", std::to_string(r_.aggregates.devices));
    row("trace records", std::to_string(m.records));
    row("messages", std::to_string(m.messages) + " (" + std::to_string(m.state_messages) + " with state, " +
                        std::to_string(m.sensitive_messages) + " with sensitive categories)");
    row("interactions", std::to_string(m.interactions));
    row("capture gaps", std::to_string(m.gaps));
    if (i.seconds) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f s", *i.seconds);
        row("run time", buf);
    }
    {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f s", r_.build_seconds);
        row("report model built in", buf);
    }
    if (i.expectations.checked) {
        std::string problems;
        for (const auto& p : i.expectations.problems) problems += "; " + p;
        row("scenario expectations", std::string(i.expectations.met ? "met" : "NOT met") + problems);
    }
    std::vector<std::pair<std::string, const json*>> tables;  // arrays of objects: boards and the like
    if (i.extra.is_object()) {
        for (const auto& [k, v] : i.extra.items()) {
            if (v.is_array() && !v.empty() && v.front().is_object()) tables.emplace_back(k, &v);
            else row(k, v.is_string() ? v.get<std::string>() : dump_json(v, -1));
        }
    }
    h_ += "</tbody></table>\n";
    for (const auto& [name, list] : tables) {
        std::vector<std::string> columns = {"device"};  // first when present, then by name
        for (const auto& item : *list) {
            if (!item.is_object()) continue;
            for (const auto& [k, v] : item.items()) {
                if (std::find(columns.begin(), columns.end(), k) == columns.end()) columns.push_back(k);
            }
        }
        if (std::none_of(list->begin(), list->end(), [](const json& item) { return item.is_object() && item.contains("device"); })) {
            columns.erase(columns.begin());
        }
        h_ += "<h3>" + esc(name) + "</h3><table class=\"extra\"><thead><tr>";
        for (const auto& c : columns) h_ += "<th>" + esc(c) + "</th>";
        h_ += "</tr></thead><tbody>\n";
        for (const auto& item : *list) {
            h_ += "<tr>";
            for (const auto& c : columns) {
                h_ += "<td>" + (item.is_object() && item.contains(c) ? json_cell(item[c]) : std::string()) + "</td>";
            }
            h_ += "</tr>\n";
        }
        h_ += "</tbody></table>\n";
    }
    if (!m.warnings.empty()) {
        h_ += "<div class=\"warn\"><b>Warnings while reading the trace:</b><ul>";
        for (const auto& w : m.warnings) h_ += "<li>" + esc(w) + "</li>";
        h_ += "</ul></div>\n";
    }
    h_ += "<h3>Leak classes and the provisions they bear on</h3><table id=\"mapping\"><thead><tr><th>leak class</th>";
    for (const auto& p : kProvisions) h_ += "<th>" + esc(p.label) + "</th>";
    h_ += "</tr></thead><tbody>\n";
    for (std::size_t t = 0; t < core::kFindingTypeCount; ++t) {
        const ProvisionSet set = provisions_for_type(static_cast<core::FindingType>(t));
        h_ += "<tr><td>" + std::string(core::kFindingTypeNames[t]) + "</td>";
        for (std::size_t p = 0; p < kProvisionCount; ++p) {
            const bool sens = static_cast<ProvisionId>(p) == ProvisionId::en_5_8_2;
            h_ += "<td>" + std::string(set.test(p) ? "✔" : sens && t != static_cast<std::size_t>(core::FindingType::side_channel) &&
                                                                     t != static_cast<std::size_t>(core::FindingType::cause_mismatch) &&
                                                                     t != static_cast<std::size_t>(core::FindingType::unclassified)
                                                               ? "if the category is sensitive"
                                                               : "") +
                  "</td>";
        }
        h_ += "</tr>\n";
    }
    h_ += "</tbody></table></section>\n";
}

std::string Page::render() {
    h_.reserve(1 << 20);
    head();
    top();
    provisions();
    aggregates();
    timelines();
    findings();
    coverage();
    run_meta();
    h_ += "</main>\n";
    if (!o_.print) {
        // The captured bodies, once each; the evidence rows copy them in (as text) when opened.
        h_ += "<div id=\"messages\" hidden>\n";
        for (std::size_t k = 0; k < r_.messages.size(); ++k) {
            h_ += "<pre id=\"m-" + std::to_string(k) + "\">" + esc(pretty_verbatim(r_.messages[k])) + "</pre>\n";
        }
        h_ += "</div>\n<script>" + std::string(kScript) + "</script>\n";
    }
    h_ += "</body>\n</html>\n";
    return std::move(h_);
}

}  // namespace

std::string render_html(const Report& report, const HtmlOptions& options) {
    Page page(report, options);
    return page.render();
}

}  // namespace consentrig::reports
