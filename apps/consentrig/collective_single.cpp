#include "collective.hpp"

namespace consentrig::app {

Collective collective_start() { return {}; }
std::vector<std::string> gather_to_root(const std::string& mine) { return {mine}; }
void collective_stop() {}

}  // namespace consentrig::app
