#pragma once
/// tests/sim/fleet_test_util.hpp — what the fleet runner's tests share: a sink that keeps every
/// record, and a scenario parsed from YAML text (a parse error fails the test).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/scenario.hpp"
#include "sim/fleet.hpp"

namespace consentrig::sim::testing {

class Collect final : public RecordSink {
public:
    core::Status write(const core::Record& r) override {
        records.push_back(r);
        return {};
    }
    std::vector<core::Record> records;
};

inline core::Scenario scenario(const std::string& yaml) {
    auto s = core::parse_scenario(yaml, "test.yaml");
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(*s) : core::Scenario{};
}

}  // namespace consentrig::sim::testing
