#include "reports/render_util.hpp"

namespace consentrig::reports {

std::string dump_json(const nlohmann::json& j, int indent) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string pretty_verbatim(std::string_view body) {
    auto j = nlohmann::ordered_json::parse(body, nullptr, false);
    if (j.is_discarded()) return std::string(body);
    return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace consentrig::reports
