#include "reports/provisions.hpp"

namespace consentrig::reports {
namespace {

ProvisionSet set_of(std::initializer_list<ProvisionId> ids) {
    ProvisionSet s;
    for (auto id : ids) s.set(static_cast<std::size_t>(id));
    return s;
}

}  // namespace

ProvisionSet provisions_for_type(core::FindingType type) {
    using core::FindingType;
    using P = ProvisionId;
    switch (type) {
        case FindingType::after_revocation: return set_of({P::en_6_3, P::gdpr_7_3});
        case FindingType::unconsented_recipient: return set_of({P::en_6_1, P::en_6_2});
        case FindingType::outside_scope: return set_of({P::en_6_2, P::en_6_4});
        case FindingType::stale_sample: return set_of({P::en_6_2, P::en_6_4});
        case FindingType::out_of_window: return set_of({P::en_6_2, P::en_6_4});
        case FindingType::cause_mismatch: return set_of({P::en_6_1, P::en_6_2});
        case FindingType::side_channel: return set_of({P::en_6_1, P::en_6_4});
        case FindingType::unclassified: return set_of({P::en_6_1, P::en_6_4});
    }
    return {};
}

ProvisionSet provisions_for(core::FindingType type, std::optional<core::Category> category) {
    ProvisionSet s = provisions_for_type(type);
    if (category && is_sensitive(*category)) s.set(static_cast<std::size_t>(ProvisionId::en_5_8_2));
    return s;
}

}  // namespace consentrig::reports
