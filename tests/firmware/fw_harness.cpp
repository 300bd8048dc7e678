#include "fw_harness.hpp"

#include <algorithm>
#include <map>

namespace fwtest {

namespace {

const std::map<std::string, std::string>& alexa_names() {
    static const std::map<std::string, std::string> m = {
        {"Alexa.TemperatureSensor.temperature", "temperature"},
        {"Alexa.HumiditySensor.relativeHumidity", "humidity"},
        {"Alexa.ThermostatController.targetSetpoint", "setpoint"},
        {"Alexa.ThermostatController.thermostatMode", "hvac_mode"},
        {"Alexa.ThermostatController.HVAC.Components.primaryHeaterOperation", "hvac_state"},
        {"Alexa.ThermostatController.HVAC.Components.coolerOperation", "hvac_state"},
        {"Alexa.MotionSensor.detectionState", "occupancy"},
        {"Alexa.LockController.lockState", "lock_state"},
        {"Alexa.ContactSensor.detectionState", "door_state"},
        {"Alexa.EndpointHealth.battery", "battery"},
        {"Alexa.EndpointHealth.connectivity", "connectivity"},
    };
    return m;
}

const std::map<std::string, std::string>& google_names() {
    static const std::map<std::string, std::string> m = {
        {"thermostatTemperatureAmbient", "temperature"},
        {"thermostatHumidityAmbient", "humidity"},
        {"thermostatTemperatureSetpoint", "setpoint"},
        {"thermostatMode", "hvac_mode"},
        {"activeThermostatMode", "hvac_state"},
        {"occupancy", "occupancy"},
        {"isLocked", "lock_state"},
        {"isJammed", "lock_state"},
        {"openPercent", "door_state"},
        {"descriptiveCapacityRemaining", "battery"},
        {"online", "connectivity"},
    };
    return m;
}

const std::map<std::string, std::string>& matter_names() {
    static const std::map<std::string, std::string> m = {
        {"513/0", "temperature"}, {"1029/0", "humidity"},   {"513/17", "setpoint"},
        {"513/18", "setpoint"},   {"513/28", "hvac_mode"},  {"513/41", "hvac_state"},
        {"513/2", "occupancy"},   {"257/0", "lock_state"},  {"257/3", "door_state"},
        {"47/12", "battery"},
    };
    return m;
}

std::string lookup(const std::map<std::string, std::string>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? "unclassified:" + key : it->second;
}

}  // namespace

std::vector<std::string> categories_in(const Uplink& u) {
    std::vector<std::string> out;
    const auto& j = u.json;
    if (!u.parsed) return {"unparsed"};
    if (u.format == "alexa") {
        auto add_props = [&](const nlohmann::json& props) {
            for (const auto& p : props)
                out.push_back(lookup(alexa_names(), p.at("namespace").get<std::string>() + "." +
                                                        p.at("name").get<std::string>()));
        };
        if (j.at("event").at("header").at("name") == "ChangeReport")
            add_props(j.at("event").at("payload").at("change").at("properties"));
        add_props(j.at("context").at("properties"));
    } else if (u.format == "google") {
        for (const auto& [dev, states] : j.at("payload").at("devices").at("states").items())
            for (const auto& [k, v] : states.items()) out.push_back(lookup(google_names(), k));
    } else if (u.format == "matter") {
        for (const auto& r : j.at("reports"))
            out.push_back(lookup(matter_names(), std::to_string(r.at("cluster").get<int>()) + "/" +
                                                     std::to_string(r.at("attribute").get<int>())));
    } else if (u.format == "json") {
        if (j.contains("state"))
            for (const auto& [k, v] : j.at("state").items()) out.push_back(k);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace fwtest
