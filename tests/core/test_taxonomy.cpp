// Tests for core/taxonomy: the shipped mappings, the decoding rules per partner format
// (PROTOCOL.md §2), user extension files, and robustness against malformed bodies.
#include "core/taxonomy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace consentrig::core {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Taxonomy builtin_or_die() {
    auto t = Taxonomy::builtin();
    if (!t.ok()) ADD_FAILURE() << t.error().message;
    return t.ok() ? *t : Taxonomy{};
}

const Taxonomy& shipped() {
    static const Taxonomy t = builtin_or_die();
    return t;
}

TimeMs at(std::string_view rfc3339) {
    const auto t = parse_rfc3339(rfc3339);
    EXPECT_TRUE(t.has_value()) << rfc3339;
    return t.value_or(0);
}

const DecodedField* find_path(const DecodedMessage& m, std::string_view path) {
    for (const auto& f : m.fields) {
        if (f.path == path) return &f;
    }
    return nullptr;
}

CategorySet set_of(std::initializer_list<Category> cs) {
    CategorySet s;
    for (const auto c : cs) insert(s, c);
    return s;
}

// ---- realistic bodies --------------------------------------------------------------------------

// An Alexa ChangeReport as a thermostat sends it to the event gateway (shape of Amazon's
// "ChangeReport event" example): the temperature changed, the rest is context.
constexpr std::string_view kAlexaThermostatChangeReport = R"json({
  "event": {
    "header": {
      "namespace": "Alexa",
      "name": "ChangeReport",
      "messageId": "5f8a426e-01e4-4cc9-8b79-65f8bd0fd8a4",
      "payloadVersion": "3"
    },
    "endpoint": {
      "scope": { "type": "BearerToken", "token": "Atza|IQEBLjAsAhRmHjNgHpi0U-Dme37rR6CuUpSR" },
      "endpointId": "thermo-1",
      "cookie": {}
    },
    "payload": {
      "change": {
        "cause": { "type": "PHYSICAL_INTERACTION" },
        "properties": [
          {
            "namespace": "Alexa.TemperatureSensor",
            "name": "temperature",
            "value": { "value": 21.5, "scale": "CELSIUS" },
            "timeOfSample": "2026-01-05T07:14:20.120Z",
            "uncertaintyInMilliseconds": 500
          }
        ]
      }
    }
  },
  "context": {
    "properties": [
      {
        "namespace": "Alexa.ThermostatController",
        "name": "targetSetpoint",
        "value": { "value": 21.0, "scale": "CELSIUS" },
        "timeOfSample": "2026-01-05T07:10:02.000Z",
        "uncertaintyInMilliseconds": 0
      },
      {
        "namespace": "Alexa.ThermostatController",
        "name": "thermostatMode",
        "value": "HEAT",
        "timeOfSample": "2026-01-05T06:00:00Z",
        "uncertaintyInMilliseconds": 0
      },
      {
        "namespace": "Alexa.EndpointHealth",
        "name": "connectivity",
        "value": { "value": "OK" },
        "timeOfSample": "2026-01-05T08:14:19.5+01:00",
        "uncertaintyInMilliseconds": 0
      }
    ]
  }
})json";

// An Alexa StateReport of a door lock (answer to a ReportState directive): everything in context.
constexpr std::string_view kAlexaLockStateReport = R"json({
  "event": {
    "header": {
      "namespace": "Alexa",
      "name": "StateReport",
      "messageId": "7a3c1e0f-2b44-4f7e-9a51-3b0e4c1d2f10",
      "correlationToken": "dFMb0z+PgpgdDmluhJ1LddFvSqZ/jCc8ptlAKulUj90jSqg==",
      "payloadVersion": "3"
    },
    "endpoint": {
      "scope": { "type": "BearerToken", "token": "Atza|IQEBLjAsAhRmHjNgHpi0U-Dme37rR6CuUpSR" },
      "endpointId": "lock-front"
    },
    "payload": {}
  },
  "context": {
    "properties": [
      {
        "namespace": "Alexa.LockController",
        "name": "lockState",
        "value": "LOCKED",
        "timeOfSample": "2026-01-05T21:03:11.250Z",
        "uncertaintyInMilliseconds": 1000
      },
      {
        "namespace": "Alexa.ContactSensor",
        "name": "detectionState",
        "value": "NOT_DETECTED",
        "timeOfSample": "2026-01-05T21:02:58.000Z",
        "uncertaintyInMilliseconds": 0
      },
      {
        "namespace": "Alexa.EndpointHealth",
        "name": "battery",
        "value": { "health": { "state": "OK", "reasons": [] }, "levelPercentage": 87 },
        "timeOfSample": "2026-01-05T20:00:00.000Z",
        "uncertaintyInMilliseconds": 60000
      }
    ]
  }
})json";

// A Home Graph Report State request for a thermostat and a lock.
constexpr std::string_view kGoogleReportState = R"json({
  "requestId": "ff36a3cc-ec34-11e6-b1a0-64510650abcf",
  "agentUserId": "1836.15267389",
  "payload": {
    "devices": {
      "states": {
        "thermo-1": {
          "online": true,
          "status": "SUCCESS",
          "thermostatMode": "heat",
          "thermostatTemperatureSetpoint": 21.0,
          "thermostatTemperatureAmbient": 20.5,
          "thermostatHumidityAmbient": 41,
          "activeThermostatMode": "heat"
        },
        "lock-front": {
          "online": true,
          "isLocked": true,
          "isJammed": false,
          "descriptiveCapacityRemaining": "HIGH",
          "capacityRemaining": [{ "rawValue": 87, "unit": "PERCENTAGE" }],
          "errorCode": "deviceOffline",
          "firmwareBuild": "0.1.0+g3f2a"
        }
      }
    }
  }
})json";

// A Matter ReportData (subscription report) from a thermostat with a lock and a battery.
constexpr std::string_view kMatterReportData = R"json({
  "interaction": "ReportData",
  "subscriptionId": 7,
  "reports": [
    { "endpoint": 1, "cluster": 513, "attribute": 0, "value": 2150 },
    { "endpoint": 1, "cluster": 513, "attribute": 18, "value": 2100 },
    { "endpoint": 1, "cluster": 513, "attribute": 28, "value": 4 },
    { "endpoint": 1, "cluster": 513, "attribute": 41, "value": 1 },
    { "endpoint": 2, "cluster": 257, "attribute": 0, "value": 1 },
    { "endpoint": 2, "cluster": 257, "attribute": 1, "value": 0 },
    { "endpoint": 2, "cluster": 257, "attribute": 3, "value": 1 },
    { "endpoint": 0, "cluster": 47, "attribute": 12, "value": 174 },
    { "endpoint": 0, "cluster": 47, "attribute": 65533, "value": 2 },
    { "endpoint": 1, "cluster": 513, "attribute": 48, "value": 0 }
  ]
})json";

// ---- builtin -----------------------------------------------------------------------------------

TEST(TaxonomyBuiltin, GivenTheShippedYaml_WhenLoaded_ThenItParsesWithoutError) {
    const auto t = Taxonomy::builtin();
    ASSERT_TRUE(t.ok()) << t.error().message;
}

TEST(TaxonomyBuiltin, GivenTheShippedYaml_WhenEachBriefedMappingIsDecoded_ThenItHasItsCategory) {
    struct Case {
        std::string_view format;
        std::string body;
        Category expected;
    };
    const auto alexa = [](std::string_view ns, std::string_view name, std::string_view instance = {}) {
        std::string p = R"({"namespace":")" + std::string(ns) + R"(","name":")" + std::string(name) + '"';
        if (!instance.empty()) p += R"(,"instance":")" + std::string(instance) + '"';
        return R"({"event":{"header":{"namespace":"Alexa","name":"StateReport"},"payload":{}},)"
               R"("context":{"properties":[)" + p + R"(,"value":1}]}})";
    };
    const auto google = [](std::string_view key) {
        return R"({"payload":{"devices":{"states":{"d":{")" + std::string(key) + R"(":1}}}}})";
    };
    const auto matter = [](int cluster, int attribute) {
        return R"({"reports":[{"cluster":)" + std::to_string(cluster) + R"(,"attribute":)" +
               std::to_string(attribute) + R"(,"value":1}]})";
    };
    const auto json = [](std::string_view key) { return R"({")" + std::string(key) + R"(":1})"; };
    using C = Category;
    const Case cases[] = {
        {"alexa", alexa("Alexa.TemperatureSensor", "temperature"), C::temperature},
        {"alexa", alexa("Alexa.ThermostatController", "targetSetpoint"), C::setpoint},
        {"alexa", alexa("Alexa.ThermostatController", "lowerSetpoint"), C::setpoint},
        {"alexa", alexa("Alexa.ThermostatController", "upperSetpoint"), C::setpoint},
        {"alexa", alexa("Alexa.ThermostatController", "thermostatMode"), C::hvac_mode},
        {"alexa", alexa("Alexa.ThermostatController.HVAC.Components", "primaryHeaterOperation"), C::hvac_state},
        {"alexa", alexa("Alexa.ThermostatController.HVAC.Components", "coolerOperation"), C::hvac_state},
        {"alexa", alexa("Alexa.LockController", "lockState"), C::lock_state},
        {"alexa", alexa("Alexa.ContactSensor", "detectionState"), C::door_state},
        {"alexa", alexa("Alexa.MotionSensor", "detectionState"), C::occupancy},
        {"alexa", alexa("Alexa.EndpointHealth", "connectivity"), C::connectivity},
        {"alexa", alexa("Alexa.EndpointHealth", "battery"), C::battery},
        {"alexa", alexa("Alexa.RangeController", "rangeValue", "Humidity"), C::humidity},
        {"alexa", alexa("Alexa.HumiditySensor", "relativeHumidity"), C::humidity},
        {"alexa", alexa("Alexa.PowerController", "powerState"), C::hvac_state},
        {"google", google("thermostatTemperatureAmbient"), C::temperature},
        {"google", google("thermostatHumidityAmbient"), C::humidity},
        {"google", google("thermostatTemperatureSetpoint"), C::setpoint},
        {"google", google("thermostatTemperatureSetpointHigh"), C::setpoint},
        {"google", google("thermostatTemperatureSetpointLow"), C::setpoint},
        {"google", google("thermostatMode"), C::hvac_mode},
        {"google", google("activeThermostatMode"), C::hvac_state},
        {"google", google("isLocked"), C::lock_state},
        {"google", google("isJammed"), C::lock_state},
        {"google", google("openPercent"), C::door_state},
        {"google", google("openState"), C::door_state},
        {"google", google("occupancy"), C::occupancy},
        {"google", google("descriptiveCapacityRemaining"), C::battery},
        {"google", google("capacityRemaining"), C::battery},
        {"google", google("isCharging"), C::battery},
        {"google", google("online"), C::connectivity},
        {"google", google("temperatureAmbientCelsius"), C::temperature},
        {"google", google("humidityAmbientPercent"), C::humidity},
        {"matter", matter(513, 0), C::temperature},
        {"matter", matter(513, 1), C::temperature},
        {"matter", matter(513, 2), C::occupancy},
        {"matter", matter(513, 17), C::setpoint},
        {"matter", matter(513, 18), C::setpoint},
        {"matter", matter(513, 19), C::setpoint},
        {"matter", matter(513, 20), C::setpoint},
        {"matter", matter(513, 28), C::hvac_mode},
        {"matter", matter(513, 30), C::hvac_state},
        {"matter", matter(513, 41), C::hvac_state},
        {"matter", matter(257, 0), C::lock_state},
        {"matter", matter(257, 3), C::door_state},
        {"matter", matter(1026, 0), C::temperature},
        {"matter", matter(1029, 0), C::humidity},
        {"matter", matter(1030, 0), C::occupancy},
        {"matter", matter(47, 12), C::battery},
        {"matter", matter(47, 14), C::battery},
        {"matter", matter(69, 0), C::door_state},
        {"json", json("temperature"), C::temperature},
        {"json", json("temp"), C::temperature},
        {"json", json("humidity"), C::humidity},
        {"json", json("setpoint"), C::setpoint},
        {"json", json("mode"), C::hvac_mode},
        {"json", json("hvac_mode"), C::hvac_mode},
        {"json", json("hvac_state"), C::hvac_state},
        {"json", json("heating"), C::hvac_state},
        {"json", json("occupancy"), C::occupancy},
        {"json", json("occupied"), C::occupancy},
        {"json", json("away"), C::occupancy},
        {"json", json("lock"), C::lock_state},
        {"json", json("lock_state"), C::lock_state},
        {"json", json("locked"), C::lock_state},
        {"json", json("door"), C::door_state},
        {"json", json("door_state"), C::door_state},
        {"json", json("battery"), C::battery},
        {"json", json("rssi"), C::connectivity},
        {"json", json("online"), C::connectivity},
        {"json", json("wifi"), C::connectivity},
    };
    for (const auto& c : cases) {
        const auto m = shipped().decode(c.format, c.body);
        SCOPED_TRACE(std::string(c.format) + " " + c.body);
        EXPECT_EQ(m.error, "");
        ASSERT_EQ(m.fields.size(), 1u);
        EXPECT_EQ(m.fields[0].category, c.expected);
    }
    // Every json key name is mapped under `state.` too.
    for (const auto& c : cases) {
        if (c.format != "json") continue;
        const std::string nested = R"({"state":)" + c.body + "}";
        const auto m = shipped().decode("json", nested);
        ASSERT_EQ(m.fields.size(), 1u) << nested;
        EXPECT_EQ(m.fields[0].category, c.expected) << nested;
    }
}

// ---- alexa -------------------------------------------------------------------------------------

TEST(TaxonomyAlexa, GivenAThermostatChangeReport_WhenDecoded_ThenChangeAndContextPropertiesAreFields) {
    const auto m = shipped().decode("alexa", kAlexaThermostatChangeReport);
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 4u);  // header, endpoint, scope and cause are structure

    const auto& temp = m.fields[0];
    EXPECT_EQ(temp.path, "event.payload.change.properties[0]");
    EXPECT_EQ(temp.key, "Alexa.TemperatureSensor.temperature");
    EXPECT_EQ(temp.category, Category::temperature);
    EXPECT_EQ(temp.sample_time, at("2026-01-05T07:14:20.120Z"));
    EXPECT_EQ(temp.value_json, R"({"value":21.5,"scale":"CELSIUS"})");

    const auto& setpoint = m.fields[1];
    EXPECT_EQ(setpoint.path, "context.properties[0]");
    EXPECT_EQ(setpoint.key, "Alexa.ThermostatController.targetSetpoint");
    EXPECT_EQ(setpoint.category, Category::setpoint);
    EXPECT_EQ(setpoint.sample_time, at("2026-01-05T07:10:02.000Z"));
    EXPECT_EQ(setpoint.value_json, R"({"value":21.0,"scale":"CELSIUS"})");

    const auto& mode = m.fields[2];
    EXPECT_EQ(mode.path, "context.properties[1]");
    EXPECT_EQ(mode.key, "Alexa.ThermostatController.thermostatMode");
    EXPECT_EQ(mode.category, Category::hvac_mode);
    EXPECT_EQ(mode.sample_time, at("2026-01-05T06:00:00.000Z"));
    EXPECT_EQ(mode.value_json, R"("HEAT")");

    const auto& conn = m.fields[3];
    EXPECT_EQ(conn.path, "context.properties[2]");
    EXPECT_EQ(conn.key, "Alexa.EndpointHealth.connectivity");
    EXPECT_EQ(conn.category, Category::connectivity);
    EXPECT_EQ(conn.sample_time, at("2026-01-05T07:14:19.500Z"));  // +01:00 offset honoured

    EXPECT_EQ(m.cause, "PHYSICAL_INTERACTION");
    EXPECT_EQ(m.categories(), set_of({Category::temperature, Category::setpoint, Category::hvac_mode,
                                      Category::connectivity}));
    EXPECT_FALSE(m.state_free());
}

TEST(TaxonomyAlexa, GivenALockStateReport_WhenDecoded_ThenContextPropertiesAreFieldsAndNoCause) {
    const auto m = shipped().decode("alexa", kAlexaLockStateReport);
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 3u);
    EXPECT_EQ(m.fields[0].key, "Alexa.LockController.lockState");
    EXPECT_EQ(m.fields[0].path, "context.properties[0]");
    EXPECT_EQ(m.fields[0].category, Category::lock_state);
    EXPECT_EQ(m.fields[0].value_json, R"("LOCKED")");
    EXPECT_EQ(m.fields[0].sample_time, at("2026-01-05T21:03:11.250Z"));
    EXPECT_EQ(m.fields[1].key, "Alexa.ContactSensor.detectionState");
    EXPECT_EQ(m.fields[1].category, Category::door_state);
    EXPECT_EQ(m.fields[1].sample_time, at("2026-01-05T21:02:58Z"));
    EXPECT_EQ(m.fields[2].key, "Alexa.EndpointHealth.battery");
    EXPECT_EQ(m.fields[2].category, Category::battery);
    EXPECT_EQ(m.fields[2].path, "context.properties[2]");
    EXPECT_EQ(m.fields[2].value_json,
              R"({"health":{"state":"OK","reasons":[]},"levelPercentage":87})");
    EXPECT_EQ(m.fields[2].sample_time, at("2026-01-05T20:00:00Z"));
    EXPECT_FALSE(m.cause.has_value());
    EXPECT_EQ(m.categories(), set_of({Category::lock_state, Category::door_state, Category::battery}));
}

TEST(TaxonomyAlexa, GivenPropertiesWithInstances_WhenDecoded_ThenTheKeyNamesTheInstance) {
    const auto m = shipped().decode("alexa", R"({"event":{"header":{"name":"Response"},"payload":{}},
      "context":{"properties":[
        {"namespace":"Alexa.RangeController","instance":"Humidity","name":"rangeValue","value":44},
        {"namespace":"Alexa.RangeController","instance":"Fan.Speed","name":"rangeValue","value":3}]}})");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 2u);
    EXPECT_EQ(m.fields[0].key, "Alexa.RangeController:Humidity.rangeValue");
    EXPECT_EQ(m.fields[0].category, Category::humidity);
    EXPECT_EQ(m.fields[1].key, "Alexa.RangeController:Fan.Speed.rangeValue");
    EXPECT_EQ(m.fields[1].category, std::nullopt);  // unknown instance: unclassified, not dropped
    EXPECT_EQ(m.fields[1].path, "context.properties[1]");
    EXPECT_EQ(m.fields[1].value_json, "3");
}

TEST(TaxonomyAlexa, GivenMissingOrBadTimeOfSample_WhenDecoded_ThenSampleTimeIsEmpty) {
    const auto m = shipped().decode("alexa", R"({"event":{"payload":{}},"context":{"properties":[
        {"namespace":"Alexa.TemperatureSensor","name":"temperature","value":{"value":20,"scale":"CELSIUS"}},
        {"namespace":"Alexa.TemperatureSensor","name":"temperature","value":1,"timeOfSample":"yesterday"},
        {"namespace":"Alexa.TemperatureSensor","name":"temperature","value":1,"timeOfSample":1736000000},
        {"namespace":"Alexa.TemperatureSensor","name":"temperature","value":1,"timeOfSample":"2026-02-30T00:00:00Z"}]}})");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 4u);
    for (const auto& f : m.fields) {
        EXPECT_EQ(f.category, Category::temperature);
        EXPECT_EQ(f.sample_time, std::nullopt) << f.path;
    }
}

TEST(TaxonomyAlexa, GivenAnUnknownInterface_WhenDecoded_ThenItIsAnUnclassifiedFieldWithKeyAndPath) {
    const auto m = shipped().decode("alexa", R"({"event":{"payload":{"change":{"cause":{"type":"PERIODIC_POLL"},
      "properties":[{"namespace":"Acme.PresenceHistory","name":"lastSeen","value":"2026-01-05T03:00:00Z",
                     "timeOfSample":"2026-01-05T03:00:01Z"}]}}}})");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 1u);
    EXPECT_EQ(m.fields[0].key, "Acme.PresenceHistory.lastSeen");
    EXPECT_EQ(m.fields[0].path, "event.payload.change.properties[0]");
    EXPECT_EQ(m.fields[0].category, std::nullopt);
    EXPECT_EQ(m.fields[0].sample_time, at("2026-01-05T03:00:01Z"));
    EXPECT_EQ(m.cause, "PERIODIC_POLL");
    EXPECT_TRUE(m.categories().none());
}

TEST(TaxonomyAlexa, GivenABodyWithoutEvent_WhenDecoded_ThenErrorAndNoFields) {
    const auto m = shipped().decode("alexa", R"({"context":{"properties":[
        {"namespace":"Alexa.TemperatureSensor","name":"temperature","value":1}]}})");
    EXPECT_THAT(m.error, HasSubstr("event"));
    EXPECT_TRUE(m.fields.empty());
}

TEST(TaxonomyAlexa, GivenWrongTypesInTheEnvelope_WhenDecoded_ThenErrorWithoutCrashAndGoodPartsKept) {
    {  // change.properties not an array; the context is still decoded
        const auto m = shipped().decode("alexa", R"({"event":{"payload":{"change":{"properties":{"a":1}}}},
          "context":{"properties":[{"namespace":"Alexa.LockController","name":"lockState","value":"LOCKED"}]}})");
        EXPECT_THAT(m.error, HasSubstr("event.payload.change.properties is not an array"));
        ASSERT_EQ(m.fields.size(), 1u);
        EXPECT_EQ(m.fields[0].category, Category::lock_state);
    }
    {  // event not an object
        const auto m = shipped().decode("alexa", R"({"event":"ChangeReport"})");
        EXPECT_THAT(m.error, HasSubstr("event"));
        EXPECT_TRUE(m.fields.empty());
    }
    {  // context not an object, context.properties not an array, change not an object
        EXPECT_THAT(shipped().decode("alexa", R"({"event":{},"context":[]})").error,
                    HasSubstr("context is not an object"));
        EXPECT_THAT(shipped().decode("alexa", R"({"event":{},"context":{"properties":"x"}})").error,
                    HasSubstr("context.properties is not an array"));
        EXPECT_THAT(shipped().decode("alexa", R"({"event":{"payload":{"change":7}}})").error,
                    HasSubstr("change is not an object"));
        EXPECT_THAT(shipped().decode("alexa", R"({"event":{"payload":{"change":{}}}})").error,
                    HasSubstr("properties"));
    }
}

TEST(TaxonomyAlexa, GivenMalformedPropertyEntries_WhenDecoded_ThenReportedAsUnclassifiedOrAsAnError) {
    const auto m = shipped().decode("alexa", R"({"event":{"payload":{}},"context":{"properties":[
        42,
        {"name":"temperature","value":20},
        {"namespace":"Alexa.TemperatureSensor","name":7,"value":20},
        {"namespace":"Alexa.RangeController","instance":5,"name":"rangeValue","value":20},
        {"namespace":"Alexa.TemperatureSensor","name":"temperature","value":20}]}})");
    // Not an object: a shape error naming the entry (the oracle reports the body), not a field.
    EXPECT_EQ(m.error, "alexa: context.properties[0] is not a property object");
    // An object without a usable namespace/name/instance: still a field, keyed by its path.
    ASSERT_EQ(m.fields.size(), 4u);
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string path = "context.properties[" + std::to_string(i + 1) + "]";
        EXPECT_EQ(m.fields[i].path, path);
        EXPECT_EQ(m.fields[i].key, path);
        EXPECT_EQ(m.fields[i].category, std::nullopt);
    }
    EXPECT_EQ(m.fields[0].value_json, R"({"name":"temperature","value":20})");
    EXPECT_EQ(m.fields[3].category, Category::temperature);  // decoding carries on after the bad entry
}

// ---- google ------------------------------------------------------------------------------------

TEST(TaxonomyGoogle, GivenAReportStateForAThermostatAndALock_WhenDecoded_ThenEachStateKeyIsAField) {
    const auto m = shipped().decode("google", kGoogleReportState);
    EXPECT_EQ(m.error, "");
    // thermo-1: 7 keys minus status; lock-front: 7 keys minus errorCode.
    ASSERT_EQ(m.fields.size(), 12u);

    const auto* ambient = find_path(m, "payload.devices.states.thermo-1.thermostatTemperatureAmbient");
    ASSERT_NE(ambient, nullptr);
    EXPECT_EQ(ambient->key, "thermostatTemperatureAmbient");
    EXPECT_EQ(ambient->category, Category::temperature);
    EXPECT_EQ(ambient->value_json, "20.5");
    EXPECT_EQ(ambient->sample_time, std::nullopt);

    const auto* setpoint = find_path(m, "payload.devices.states.thermo-1.thermostatTemperatureSetpoint");
    ASSERT_NE(setpoint, nullptr);
    EXPECT_EQ(setpoint->category, Category::setpoint);
    EXPECT_EQ(setpoint->value_json, "21.0");

    const auto* online = find_path(m, "payload.devices.states.lock-front.online");
    ASSERT_NE(online, nullptr);
    EXPECT_EQ(online->category, Category::connectivity);
    EXPECT_EQ(online->value_json, "true");

    const auto* locked = find_path(m, "payload.devices.states.lock-front.isLocked");
    ASSERT_NE(locked, nullptr);
    EXPECT_EQ(locked->category, Category::lock_state);

    const auto* capacity = find_path(m, "payload.devices.states.lock-front.capacityRemaining");
    ASSERT_NE(capacity, nullptr);
    EXPECT_EQ(capacity->category, Category::battery);
    EXPECT_EQ(capacity->value_json, R"([{"rawValue":87,"unit":"PERCENTAGE"}])");

    EXPECT_EQ(find_path(m, "payload.devices.states.thermo-1.status"), nullptr);
    EXPECT_EQ(find_path(m, "payload.devices.states.lock-front.errorCode"), nullptr);

    const auto* unknown = find_path(m, "payload.devices.states.lock-front.firmwareBuild");
    ASSERT_NE(unknown, nullptr);
    EXPECT_EQ(unknown->key, "firmwareBuild");
    EXPECT_EQ(unknown->category, std::nullopt);

    EXPECT_FALSE(m.cause.has_value());
    EXPECT_EQ(m.categories(),
              set_of({Category::temperature, Category::humidity, Category::setpoint, Category::hvac_mode,
                      Category::hvac_state, Category::lock_state, Category::battery,
                      Category::connectivity}));
}

TEST(TaxonomyGoogle, GivenNotifications_WhenDecoded_ThenEachNotificationKeyIsAField) {
    const auto m = shipped().decode("google", R"({"requestId":"r-1","agentUserId":"u-1",
      "eventId":"e-1","payload":{"devices":{"notifications":{"lock-front":{
        "LockUnlock":{"priority":0,"followUpResponse":{"status":"SUCCESS","isLocked":false,"followUpToken":"t"}},
        "RunCycle":{"priority":0,"status":"done"}}}}}})");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 2u);
    EXPECT_EQ(m.fields[0].path, "payload.devices.notifications.lock-front.LockUnlock");
    EXPECT_EQ(m.fields[0].key, "LockUnlock");
    EXPECT_EQ(m.fields[0].category, Category::lock_state);
    EXPECT_EQ(m.fields[1].key, "RunCycle");
    EXPECT_EQ(m.fields[1].category, std::nullopt);
}

TEST(TaxonomyGoogle, GivenAnEmptyDeviceStateObject_WhenDecoded_ThenStateFreeWithoutError) {
    const auto m = shipped().decode("google", R"({"requestId":"r","payload":{"devices":{"states":{"d":{}}}}})");
    EXPECT_EQ(m.error, "");
    EXPECT_TRUE(m.state_free());
}

TEST(TaxonomyGoogle, GivenMissingOrWrongTypedDevices_WhenDecoded_ThenError) {
    EXPECT_THAT(shipped().decode("google", R"({"requestId":"r","agentUserId":"u"})").error,
                HasSubstr("payload.devices"));
    EXPECT_THAT(shipped().decode("google", R"({"payload":{"devices":[]}})").error,
                HasSubstr("payload.devices"));
    EXPECT_THAT(shipped().decode("google", R"({"payload":"x"})").error, HasSubstr("payload.devices"));
    EXPECT_THAT(shipped().decode("google", R"({"payload":{"devices":{"states":[1]}}})").error,
                HasSubstr("payload.devices.states is not an object"));

    const auto m = shipped().decode("google",
                                    R"({"payload":{"devices":{"states":{"a":20.5,"b":{"online":true}}}}})");
    EXPECT_EQ(m.error, "google: payload.devices.states.a is not an object");
    ASSERT_EQ(m.fields.size(), 1u);  // the other device is still decoded
    EXPECT_EQ(m.fields[0].path, "payload.devices.states.b.online");
    EXPECT_EQ(m.fields[0].category, Category::connectivity);
}

// ---- matter ------------------------------------------------------------------------------------

TEST(TaxonomyMatter, GivenAReportDataFromThermostatLockAndBattery_WhenDecoded_ThenReportsAreFields) {
    const auto m = shipped().decode("matter", kMatterReportData);
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 8u);  // LockType and ClusterRevision carry no state

    EXPECT_EQ(m.fields[0].path, "reports[0]");
    EXPECT_EQ(m.fields[0].key, "513/0");
    EXPECT_EQ(m.fields[0].category, Category::temperature);
    EXPECT_EQ(m.fields[0].value_json, "2150");
    EXPECT_EQ(m.fields[0].sample_time, std::nullopt);

    EXPECT_EQ(m.fields[1].key, "513/18");
    EXPECT_EQ(m.fields[1].category, Category::setpoint);
    EXPECT_EQ(m.fields[2].key, "513/28");
    EXPECT_EQ(m.fields[2].category, Category::hvac_mode);
    EXPECT_EQ(m.fields[3].key, "513/41");
    EXPECT_EQ(m.fields[3].category, Category::hvac_state);
    EXPECT_EQ(m.fields[4].key, "257/0");
    EXPECT_EQ(m.fields[4].category, Category::lock_state);
    EXPECT_EQ(m.fields[5].path, "reports[6]");  // indices are positions in the body
    EXPECT_EQ(m.fields[5].key, "257/3");
    EXPECT_EQ(m.fields[5].category, Category::door_state);
    EXPECT_EQ(m.fields[6].path, "reports[7]");
    EXPECT_EQ(m.fields[6].key, "47/12");
    EXPECT_EQ(m.fields[6].category, Category::battery);
    EXPECT_EQ(m.fields[6].value_json, "174");

    EXPECT_EQ(m.fields[7].path, "reports[9]");
    EXPECT_EQ(m.fields[7].key, "513/48");  // SetpointChangeSource: not mapped
    EXPECT_EQ(m.fields[7].category, std::nullopt);

    EXPECT_FALSE(m.cause.has_value());
    EXPECT_EQ(m.categories(), set_of({Category::temperature, Category::setpoint, Category::hvac_mode,
                                      Category::hvac_state, Category::lock_state, Category::door_state,
                                      Category::battery}));
}

TEST(TaxonomyMatter, GivenReportsWithoutIntegerClusterOrAttribute_WhenDecoded_ThenUnclassifiedUnderTheirPath) {
    const auto m = shipped().decode("matter", R"({"interaction":"ReportData","reports":[
        {"endpoint":1,"cluster":257,"event":2,"value":{"lockOperationType":1},"time":"2026-01-05T21:00:00Z"},
        {"endpoint":1,"cluster":"513","attribute":0,"value":2150},
        {"endpoint":1,"cluster":513,"attribute":-1,"value":1},
        {"endpoint":1,"cluster":513.0,"attribute":0,"value":1},
        {"endpoint":1,"cluster":513,"attribute":0,"value":2200}]})");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 5u);
    for (std::size_t i = 0; i < 4; ++i) {
        const std::string path = "reports[" + std::to_string(i) + "]";
        EXPECT_EQ(m.fields[i].path, path);
        EXPECT_EQ(m.fields[i].key, path);
        EXPECT_EQ(m.fields[i].category, std::nullopt);
    }
    EXPECT_EQ(m.fields[0].value_json,
              R"({"endpoint":1,"cluster":257,"event":2,"value":{"lockOperationType":1},"time":"2026-01-05T21:00:00Z"})");
    EXPECT_EQ(m.fields[4].key, "513/0");
    EXPECT_EQ(m.fields[4].category, Category::temperature);
}

TEST(TaxonomyMatter, GivenMissingOrWrongTypedReports_WhenDecoded_ThenError) {
    EXPECT_THAT(shipped().decode("matter", R"({"interaction":"ReportData","subscriptionId":7})").error,
                HasSubstr("reports"));
    EXPECT_THAT(shipped().decode("matter", R"({"reports":{"cluster":513,"attribute":0}})").error,
                HasSubstr("reports"));
    const auto m = shipped().decode("matter", R"({"reports":[null,{"cluster":513,"attribute":0,"value":1}]})");
    EXPECT_EQ(m.error, "matter: reports[0] is not a report object");
    ASSERT_EQ(m.fields.size(), 1u);
    EXPECT_EQ(m.fields[0].path, "reports[1]");
    EXPECT_EQ(m.fields[0].category, Category::temperature);
}

TEST(TaxonomyMatter, GivenAnEmptyReportList_WhenDecoded_ThenStateFree) {
    const auto m = shipped().decode("matter", R"({"interaction":"ReportData","subscriptionId":7,"reports":[]})");
    EXPECT_EQ(m.error, "");
    EXPECT_TRUE(m.state_free());
}

// ---- json --------------------------------------------------------------------------------------

TEST(TaxonomyJson, GivenAKeepalive_WhenDecoded_ThenItIsStateFree) {
    const auto m = shipped().decode("json", R"({"type":"keepalive","seq":3})");
    EXPECT_EQ(m.error, "");
    EXPECT_TRUE(m.state_free());
    EXPECT_TRUE(m.categories().none());
}

TEST(TaxonomyJson, GivenOnlyEnvelopeKeys_WhenDecoded_ThenStateFree) {
    for (const std::string_view body :
         {R"({})",
          R"({"type":"hb","event":"ping","kind":"k","seq":1,"sequence":2,"id":"x","msg_id":3,"message_id":4,
              "device":"thermo-1","device_id":"thermo-1","deviceId":"thermo-1","ts":1,"timestamp":"2026-01-05T00:00:00Z",
              "t":5,"version":"0.1.0","fw":"1","firmware":{"version":"0.1.0","build":7},"nonce":"abc"})",
          R"({"device":{"id":"thermo-1","model":"T1"}})"}) {
        const auto m = shipped().decode("json", body);
        EXPECT_EQ(m.error, "") << body;
        EXPECT_TRUE(m.state_free()) << body;
    }
}

TEST(TaxonomyJson, GivenNestedState_WhenDecoded_ThenKeyPathsMatchExactlyOrByLongestPrefix) {
    const auto m = shipped().decode("json", R"({"type":"state","device":"lock-front",
      "state":{"lock":{"position":"extended","motor":"idle"},"temp":21.5,"diag":{"uptime_s":3600}}})");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 4u);
    EXPECT_EQ(m.fields[0].key, "state.lock.position");
    EXPECT_EQ(m.fields[0].path, "state.lock.position");
    EXPECT_EQ(m.fields[0].category, Category::lock_state);  // covered by `state.lock`
    EXPECT_EQ(m.fields[0].value_json, R"("extended")");
    EXPECT_EQ(m.fields[1].key, "state.lock.motor");
    EXPECT_EQ(m.fields[1].category, Category::lock_state);
    EXPECT_EQ(m.fields[2].key, "state.temp");
    EXPECT_EQ(m.fields[2].category, Category::temperature);
    EXPECT_EQ(m.fields[2].value_json, "21.5");
    EXPECT_EQ(m.fields[3].key, "state.diag.uptime_s");
    EXPECT_EQ(m.fields[3].path, "state.diag.uptime_s");
    EXPECT_EQ(m.fields[3].category, std::nullopt);
}

TEST(TaxonomyJson, GivenAPrefixThatEndsMidSegment_WhenDecoded_ThenItDoesNotCover) {
    // `lock` covers lock.x but not locksmith; `t` (ignored) does not swallow `temp`.
    const auto m = shipped().decode("json", R"({"locksmith":1,"temp":20})");
    ASSERT_EQ(m.fields.size(), 2u);
    EXPECT_EQ(m.fields[0].key, "locksmith");
    EXPECT_EQ(m.fields[0].category, std::nullopt);
    EXPECT_EQ(m.fields[1].category, Category::temperature);
}

TEST(TaxonomyJson, GivenArrays_WhenDecoded_ThenScalarArraysAreLeavesAndObjectArraysRecurse) {
    const auto m = shipped().decode("json", R"({"readings":[{"temp":20.5},{"temp":20.7,"humidity":40}],
      "temperature":[20.1,20.2,20.4],"matrix":[[1,2],[3]]})");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 6u);
    EXPECT_EQ(m.fields[0].path, "readings[0].temp");
    EXPECT_EQ(m.fields[0].key, "readings.temp");
    EXPECT_EQ(m.fields[0].category, std::nullopt);  // readings.temp is not mapped
    EXPECT_EQ(m.fields[1].path, "readings[1].temp");
    EXPECT_EQ(m.fields[2].path, "readings[1].humidity");
    EXPECT_EQ(m.fields[2].key, "readings.humidity");
    EXPECT_EQ(m.fields[3].path, "temperature");
    EXPECT_EQ(m.fields[3].category, Category::temperature);
    EXPECT_EQ(m.fields[3].value_json, "[20.1,20.2,20.4]");
    EXPECT_EQ(m.fields[4].path, "matrix[0]");
    EXPECT_EQ(m.fields[4].key, "matrix");
    EXPECT_EQ(m.fields[4].value_json, "[1,2]");
    EXPECT_EQ(m.fields[5].path, "matrix[1]");
}

TEST(TaxonomyJson, GivenCauseAndSampledAt_WhenDecoded_ThenTheyAreReadAndAreNotFields) {
    const auto m = shipped().decode("json", R"({"type":"report","cause":"VOICE_INTERACTION",
      "sampled_at":"2026-01-05T07:00:00.250Z","state":{"setpoint":21.0,"hvac_mode":"heat"}})");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 2u);
    EXPECT_EQ(m.cause, "VOICE_INTERACTION");
    for (const auto& f : m.fields) EXPECT_EQ(f.sample_time, at("2026-01-05T07:00:00.250Z")) << f.key;
    EXPECT_EQ(m.categories(), set_of({Category::setpoint, Category::hvac_mode}));

    // A sample time after the fields, an unparseable one, and a non-string cause.
    const auto late = shipped().decode("json", R"({"temp":20,"sampled_at":"2026-01-05T07:00:00Z"})");
    ASSERT_EQ(late.fields.size(), 1u);
    EXPECT_EQ(late.fields[0].sample_time, at("2026-01-05T07:00:00Z"));
    const auto bad = shipped().decode("json", R"({"temp":20,"sampled_at":"soon","cause":{"type":"X"}})");
    ASSERT_EQ(bad.fields.size(), 1u);
    EXPECT_EQ(bad.fields[0].sample_time, std::nullopt);
    EXPECT_FALSE(bad.cause.has_value());

    // Keys that merely start with the same letters are ordinary keys.
    const auto similar = shipped().decode("json", R"({"causes":["a"],"sampled_at_local":"07:00"})");
    ASSERT_EQ(similar.fields.size(), 2u);
    EXPECT_EQ(similar.fields[0].key, "causes");
    EXPECT_EQ(similar.fields[1].key, "sampled_at_local");
    EXPECT_FALSE(similar.cause.has_value());
}

TEST(TaxonomyJson, GivenStringsNeedingEscapes_WhenDecoded_ThenValueJsonIsValidCompactJson) {
    const auto m = shipped().decode("json", "{\"mode\":\"h\\\"e\\\\a\\nt\\u0001\\u00e9\",\"temp\":-0.5,"
                                            "\"setpoint\":1e3,\"battery\":18446744073709551615,"
                                            "\"occupied\":null,\"locked\":false}");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 6u);
    EXPECT_EQ(m.fields[0].value_json, "\"h\\\"e\\\\a\\nt\\u0001\xc3\xa9\"");
    EXPECT_EQ(m.fields[1].value_json, "-0.5");
    EXPECT_EQ(m.fields[2].value_json, "1000.0");
    EXPECT_EQ(m.fields[3].value_json, "18446744073709551615");
    EXPECT_EQ(m.fields[4].value_json, "null");
    EXPECT_EQ(m.fields[5].value_json, "false");
}

// ---- unknown format and invalid bodies ---------------------------------------------------------

TEST(TaxonomyDecode, GivenAnUnknownFormat_WhenDecoded_ThenOneUnclassifiedFieldCarriesTheWholeBody) {
    const auto m = shipped().decode("zigbee", R"({ "cluster" : 513, "temp" : 21.5 })");
    EXPECT_EQ(m.error, "");
    ASSERT_EQ(m.fields.size(), 1u);
    EXPECT_EQ(m.fields[0].key, "format:zigbee");
    EXPECT_EQ(m.fields[0].path, "");
    EXPECT_EQ(m.fields[0].category, std::nullopt);
    EXPECT_EQ(m.fields[0].value_json, R"({"cluster":513,"temp":21.5})");
    EXPECT_FALSE(m.state_free());
}

TEST(TaxonomyDecode, GivenBodiesThatAreNotJsonObjects_WhenDecodedInAnyFormat_ThenErrorAndNoFields) {
    const std::string invalid_utf8 = "{\"temp\":\"\xff\xfe\"}";
    const std::string overlong_utf8 = "{\"temp\":\"\xc0\xaf\"}";
    const std::string nul_inside = std::string("{\"temp\":1", 9) + '\0' + "}";
    const std::string_view bodies[] = {
        "",          "   ",        "{",          R"({"temp":)",   R"({"temp":21.5)",
        "not json",  "[1,2,3]",    R"("text")",  "42",            "null",
        "{'a':1}",   R"({"a":1,})", R"({"a":1}{"b":2})", invalid_utf8, overlong_utf8, nul_inside,
    };
    for (const auto format : {"alexa", "google", "matter", "json", "zigbee"}) {
        for (const auto body : bodies) {
            const auto m = shipped().decode(format, body);
            EXPECT_NE(m.error, "") << format << " " << body;
            EXPECT_TRUE(m.fields.empty()) << format << " " << body;
        }
    }
    EXPECT_THAT(shipped().decode("json", "[1]").error, HasSubstr("not a JSON object"));

    // Nesting beyond the parser's depth limit is an error; deep but legal nesting decodes.
    const std::string too_deep = "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
    EXPECT_THAT(shipped().decode("json", too_deep).error, HasSubstr("not valid JSON"));
    std::string deep = "1";
    std::string deep_key = "k";
    for (int i = 0; i < 500; ++i) deep = "{\"k\":" + deep + "}";
    for (int i = 0; i < 499; ++i) deep_key += ".k";
    const auto d = shipped().decode("json", deep);
    EXPECT_EQ(d.error, "");
    ASSERT_EQ(d.fields.size(), 1u);
    EXPECT_EQ(d.fields[0].key, deep_key);
    EXPECT_THAT(shipped().decode("json", invalid_utf8).error, HasSubstr("not valid JSON"));
}

TEST(TaxonomyDecode, GivenEveryTruncationOfRealisticBodies_WhenDecoded_ThenErrorAndNeverACrash) {
    const std::pair<std::string_view, std::string_view> bodies[] = {
        {"alexa", kAlexaThermostatChangeReport},
        {"alexa", kAlexaLockStateReport},
        {"google", kGoogleReportState},
        {"matter", kMatterReportData},
    };
    for (const auto& [format, body] : bodies) {
        const std::string_view trimmed = body.substr(0, body.find_last_not_of(" \n") + 1);
        for (std::size_t n = 0; n < trimmed.size(); ++n) {
            const auto m = shipped().decode(format, trimmed.substr(0, n));
            ASSERT_NE(m.error, "") << format << " cut at " << n;
            ASSERT_TRUE(m.fields.empty()) << format << " cut at " << n;
        }
        EXPECT_EQ(shipped().decode(format, trimmed).error, "");
    }
}

TEST(TaxonomyDecode, GivenBodiesWithEveryByteFlipped_WhenDecoded_ThenNeverACrash) {
    // Not a correctness oracle for each mutant; it must return, and an error means no fields.
    std::string body(kAlexaThermostatChangeReport);
    std::size_t decoded_with_error = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char saved = body[i];
        for (const char c : {'\0', '"', '[', '}', '\xff'}) {
            body[i] = c;
            const auto m = shipped().decode("alexa", body);
            if (!m.error.empty() && m.fields.empty()) ++decoded_with_error;
        }
        body[i] = saved;
    }
    EXPECT_GT(decoded_with_error, body.size());  // most mutants break the JSON
    EXPECT_EQ(shipped().decode("alexa", body).fields.size(), 4u);
}

TEST(TaxonomyDecode, GivenManyDecodesInARow_WhenTheParserIsReused_ThenResultsDoNotLeakBetweenCalls) {
    const auto big = shipped().decode("google", kGoogleReportState);
    const auto small = shipped().decode("json", R"({"temp":1})");
    const auto again = shipped().decode("google", kGoogleReportState);
    ASSERT_EQ(small.fields.size(), 1u);
    EXPECT_EQ(small.fields[0].value_json, "1");
    ASSERT_EQ(again.fields.size(), big.fields.size());
    for (std::size_t i = 0; i < big.fields.size(); ++i) {
        EXPECT_EQ(again.fields[i].path, big.fields[i].path);
        EXPECT_EQ(again.fields[i].value_json, big.fields[i].value_json);
    }
}

// ---- summarize: decode without the text -------------------------------------------------------

/// summarize() must see exactly what decode() sees: the same fields (category, sample time) in
/// the same order, the same cause and the same error.
void expect_summary_matches(const Taxonomy& t, std::string_view format, std::string_view body, MessageSummary& sum) {
    const auto m = t.decode(format, body);
    t.summarize(format, body, sum);
    SCOPED_TRACE(std::string(format) + " " + std::string(body));
    EXPECT_EQ(sum.error, m.error);
    EXPECT_EQ(sum.has_cause, m.cause.has_value());
    EXPECT_EQ(sum.cause, m.cause.value_or(""));
    EXPECT_EQ(sum.categories, m.categories());
    EXPECT_EQ(sum.state_free(), m.state_free());
    ASSERT_EQ(sum.fields.size(), m.fields.size());
    bool unclassified = false;
    for (std::size_t i = 0; i < m.fields.size(); ++i) {
        EXPECT_EQ(sum.fields[i].category, m.fields[i].category) << i;
        EXPECT_EQ(sum.fields[i].sample_time, m.fields[i].sample_time) << i;
        unclassified = unclassified || !m.fields[i].category;
    }
    EXPECT_EQ(sum.unclassified, unclassified);
}

TEST(TaxonomySummarize, GivenRealisticMalformedAndMutatedBodies_WhenSummarized_ThenItAgreesWithDecode) {
    MessageSummary sum;  // reused throughout, as the oracle does: nothing may leak between calls
    const std::pair<std::string_view, std::string_view> realistic[] = {
        {"alexa", kAlexaThermostatChangeReport},
        {"alexa", kAlexaLockStateReport},
        {"google", kGoogleReportState},
        {"matter", kMatterReportData},
    };
    for (const auto& [format, body] : realistic) {
        expect_summary_matches(shipped(), format, body, sum);
        for (const auto other : {"alexa", "google", "matter", "json", "zigbee"}) {
            expect_summary_matches(shipped(), other, body, sum);
        }
        const std::string_view trimmed = body.substr(0, body.find_last_not_of(" \n") + 1);
        for (std::size_t n = 0; n < trimmed.size(); n += 7) {
            expect_summary_matches(shipped(), format, trimmed.substr(0, n), sum);
        }
        std::string mutant(body);
        for (std::size_t i = 0; i < mutant.size(); ++i) {
            const char saved = mutant[i];
            for (const char c : {'\0', '"', '[', '}', '1', 'x', '\xff'}) {
                mutant[i] = c;
                expect_summary_matches(shipped(), format, mutant, sum);
            }
            mutant[i] = saved;
        }
    }
    const std::pair<std::string_view, std::string_view> shapes[] = {
        {"alexa", R"({"event":{"payload":{"change":{"properties":{"a":1}}}},
          "context":{"properties":[{"namespace":"Alexa.LockController","name":"lockState","value":"LOCKED"}]}})"},
        {"alexa", R"({"event":{"payload":{}},"context":{"properties":[42,{"name":"temperature","value":20},
          {"namespace":"Alexa.RangeController","instance":5,"name":"rangeValue","value":20},
          {"namespace":"Alexa.RangeController","instance":"Humidity","name":"rangeValue","value":20},
          {"namespace":"Alexa.TemperatureSensor","name":"temperature","value":20,"timeOfSample":"2026-01-05T07:00:00Z"},
          {"namespace":"Alexa.TemperatureSensor","name":"temperature","timeOfSample":"soon"}]}})"},
        {"alexa", R"({"event":{"payload":{"change":{"cause":{"type":"VOICE_INTERACTION"},"properties":[]}}}})"},
        {"alexa", R"({"event":{"payload":{"change":{"cause":{"type":7},"properties":[]}}},"context":[]})"},
        {"google", R"({"payload":{"devices":{"states":{"a":20.5,"b":{"online":true,"status":"SUCCESS","x":1}},
          "notifications":{"b":{"LockUnlock":{"priority":0}}}}}})"},
        {"google", R"({"payload":{"devices":{"states":[1],"notifications":7}}})"},
        {"matter", R"({"reports":[null,{"cluster":513,"attribute":0,"value":1},{"cluster":"513","attribute":0},
          {"cluster":29,"attribute":65533},{"cluster":513,"attribute":-1}]})"},
        {"json", R"({"type":"report","cause":"APP_INTERACTION","sampled_at":"2026-01-05T07:00:00.250Z",
          "state":{"setpoint":21.0,"lock":{"position":"extended"},"diag":{"up":1}},"readings":[{"temp":1},[2]],
          "temps":[1,2],"cause2":"x"})"},
        {"json", R"({"temp":20,"sampled_at":"soon","cause":{"type":"X"}})"},
        {"json", R"({"cause":"A","state":{"cause":"B"},"sampled_at":7})"},
        {"json", R"({"type":"keepalive","seq":3})"},
        {"zigbee", R"({"cluster":513})"},
        {"json", "[1]"},
        {"json", ""},
    };
    for (const auto& [format, body] : shapes) expect_summary_matches(shipped(), format, body, sum);
}

// ---- user files --------------------------------------------------------------------------------

TEST(TaxonomyMerge, GivenAUserFile_WhenMerged_ThenItAddsAndOverridesMappings) {
    Taxonomy t = shipped();
    const Status s = t.merge_text(R"yaml(
alexa:
  map:
    "Alexa.RangeController:Fan.Speed.rangeValue": hvac_state
google:
  map:
    online: hvac_state          # override: online -> hvac_state
    firmwareBuild: connectivity
matter:
  map:
    "0x0201/0x0030": setpoint   # SetpointChangeSource, hex spelling
  ignore: ["257/0"]             # override a map entry by ignoring it
json:
  map:
    indoor.temp_c: temperature
    seq: connectivity           # a key the default ignores
  ignore: [state.diag]
)yaml",
                                  "site.yaml");
    ASSERT_TRUE(s.ok()) << s.error().message;

    auto m = t.decode("alexa", R"({"event":{},"context":{"properties":[
        {"namespace":"Alexa.RangeController","instance":"Fan.Speed","name":"rangeValue","value":3}]}})");
    ASSERT_EQ(m.fields.size(), 1u);
    EXPECT_EQ(m.fields[0].category, Category::hvac_state);

    m = t.decode("google", R"({"payload":{"devices":{"states":{"d":{"online":true,"firmwareBuild":"x","isLocked":true}}}}})");
    ASSERT_EQ(m.fields.size(), 3u);
    EXPECT_EQ(m.fields[0].category, Category::hvac_state);
    EXPECT_EQ(m.fields[1].category, Category::connectivity);
    EXPECT_EQ(m.fields[2].category, Category::lock_state);  // shipped mappings remain

    m = t.decode("matter", R"({"reports":[{"cluster":513,"attribute":48,"value":1},
                                         {"cluster":257,"attribute":0,"value":1}]})");
    ASSERT_EQ(m.fields.size(), 1u);
    EXPECT_EQ(m.fields[0].key, "513/48");
    EXPECT_EQ(m.fields[0].category, Category::setpoint);

    m = t.decode("json", R"({"indoor":{"temp_c":20},"seq":4,"state":{"diag":{"x":1},"temp":3}})");
    ASSERT_EQ(m.fields.size(), 3u);
    EXPECT_EQ(m.fields[0].key, "indoor.temp_c");
    EXPECT_EQ(m.fields[0].category, Category::temperature);
    EXPECT_EQ(m.fields[1].key, "seq");
    EXPECT_EQ(m.fields[1].category, Category::connectivity);
    EXPECT_EQ(m.fields[2].key, "state.temp");

    // The shipped taxonomy itself is untouched (merge works on a copy).
    EXPECT_EQ(shipped().decode("google", R"({"payload":{"devices":{"states":{"d":{"online":true}}}}})")
                  .fields.at(0).category,
              Category::connectivity);
}

TEST(TaxonomyMerge, GivenConfiguredCauseAndSampleTimePaths_WhenDecodingJson_ThenTheyAreUsed) {
    Taxonomy t = shipped();
    ASSERT_TRUE(t.merge_text("json:\n  cause: meta.why\n  sample_time: meta.at\n", "x.yaml").ok());
    const auto m = t.decode("json", R"({"meta":{"why":"APP_INTERACTION","at":"2026-01-05T10:00:00Z"},
                                       "cause":"not-a-cause-any-more","temp":20})");
    EXPECT_EQ(m.cause, "APP_INTERACTION");
    ASSERT_EQ(m.fields.size(), 2u);
    EXPECT_EQ(m.fields[0].key, "cause");  // now an ordinary (unmapped) key
    EXPECT_EQ(m.fields[0].category, std::nullopt);
    EXPECT_EQ(m.fields[1].sample_time, at("2026-01-05T10:00:00Z"));
}

TEST(TaxonomyMerge, GivenAnUnknownCategory_WhenMerged_ThenTheErrorNamesFileLineColumnAndChoices) {
    Taxonomy t = shipped();
    const Status s = t.merge_text("# site taxonomy\njson:\n  map:\n    indoor: temprature\n", "my.yaml");
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.error().message, StartsWith("my.yaml:4:13: unknown category \"temprature\""));
    EXPECT_THAT(s.error().message, HasSubstr("expected one of temperature, humidity"));
    EXPECT_THAT(s.error().message, HasSubstr("connectivity"));
}

TEST(TaxonomyMerge, GivenABadFile_WhenMerged_ThenNothingOfItIsApplied) {
    Taxonomy t = shipped();
    const Status s = t.merge_text("json:\n  map:\n    indoor: temperature\n    outdoor: weather\n", "u.yaml");
    ASSERT_FALSE(s.ok());
    const auto m = t.decode("json", R"({"indoor":1})");
    ASSERT_EQ(m.fields.size(), 1u);
    EXPECT_EQ(m.fields[0].category, std::nullopt);  // the good line before the bad one is not kept
}

TEST(TaxonomyMerge, GivenInvalidYamlSyntax_WhenMerged_ThenTheErrorNamesTheLocation) {
    Taxonomy t;
    const Status s = t.merge_text("google:\n  map: {online: connectivity\n  ignore: [a\n", "broken.yaml");
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.error().message, ::testing::MatchesRegex(R"(broken\.yaml:[0-9]+:[0-9]+: .+)"));
}

TEST(TaxonomyMerge, GivenSchemaMistakes_WhenMerged_ThenEachIsAnErrorWithItsLocation) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"alexsa:\n  map: {}\n", "f.yaml:1:1: unknown section \"alexsa\""},
        {"google:\n  mapping: {}\n", "f.yaml:2:3: unknown key \"mapping\" in section \"google\""},
        {"google: [online]\n", "f.yaml:1:9: section \"google\" must be a mapping"},
        {"google:\n  map: [online]\n", "f.yaml:2:8: \"google\" map must be a mapping"},
        {"google:\n  ignore: status\n", "f.yaml:2:11: \"google\" ignore must be a list"},
        {"matter:\n  map:\n    \"513-0\": temperature\n", "f.yaml:3:5: matter key \"513-0\""},
        {"matter:\n  map:\n    \"513/0x1FFFFFFFF\": temperature\n", "f.yaml:3:5: matter key"},
        {"alexa:\n  map:\n    temperature: temperature\n", "f.yaml:3:5: alexa key \"temperature\""},
        {"json:\n  map:\n    \"a..b\": temperature\n", "f.yaml:3:5: json key path \"a..b\" has an empty segment"},
        {"json:\n  map:\n    \"a[0].b\": temperature\n", "f.yaml:3:5: json key path \"a[0].b\" must not"},
        {"json:\n  map:\n    a: [temperature]\n", "f.yaml:3:8: the category of \"a\" must be a name"},
        {"json:\n  map:\n    a: temperature\n  ignore: [a]\n", "f.yaml:4:12: \"a\" is listed twice"},
        {"google:\n  map:\n    x: battery\n    x: battery\n", "f.yaml:4:5: duplicate key \"x\""},
        {"json:\n  cause: {a: 1}\n", "f.yaml:2:10: \"cause\" must be a key path"},
        {"version: 2\n", "f.yaml:1:10: unsupported taxonomy version"},
        {"- alexa\n", "f.yaml:1:1: a taxonomy must be a mapping"},
        {"matter:\n  ignore:\n    - \"Alexa.x\"\n", "f.yaml:3:7: matter key"},
    };
    for (const auto& [yaml, expected] : cases) {
        Taxonomy t;
        const Status s = t.merge_text(yaml, "f.yaml");
        ASSERT_FALSE(s.ok()) << yaml;
        EXPECT_THAT(s.error().message, StartsWith(std::string(expected))) << yaml;
    }
}

TEST(TaxonomyMerge, GivenAnEmptyFile_WhenMerged_ThenOkAndNothingChanges) {
    Taxonomy t = shipped();
    ASSERT_TRUE(t.merge_text("", "empty.yaml").ok());
    ASSERT_TRUE(t.merge_text("# only a comment\n", "c.yaml").ok());
    EXPECT_EQ(t.decode("json", R"({"temp":1})").fields.at(0).category, Category::temperature);
}

TEST(TaxonomyMerge, GivenFilesOnDisk_WhenMergedByPath_ThenErrorsNameThePath) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("consentrig-taxonomy-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    std::filesystem::create_directories(dir);
    const auto good = dir / "good.yaml";
    const auto bad = dir / "bad.yaml";
    std::ofstream(good) << "json:\n  map:\n    indoor: temperature\n";
    std::ofstream(bad) << "json:\n  map:\n    indoor: hot\n";

    Taxonomy t = shipped();
    ASSERT_TRUE(t.merge_file(good).ok());
    EXPECT_EQ(t.decode("json", R"({"indoor":1})").fields.at(0).category, Category::temperature);

    const Status s = t.merge_file(bad);
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.error().message, StartsWith(bad.string() + ":3:13: unknown category \"hot\""));

    const Status missing = t.merge_file(dir / "missing.yaml");
    ASSERT_FALSE(missing.ok());
    EXPECT_THAT(missing.error().message, StartsWith((dir / "missing.yaml").string() + ": cannot open"));

    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace consentrig::core
