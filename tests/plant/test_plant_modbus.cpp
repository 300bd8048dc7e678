// End to end: a libmodbus client talks to the plant server over Modbus TCP on loopback and over
// Modbus RTU on real pseudo-terminal pairs (the server opening the slave path as it does for
// QEMU's `-serial pty`, and the server on the master side with the client opening the path).
#include <gtest/gtest.h>
#include <modbus.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <vector>

#include "modbus_test_util.hpp"
#include "plant/modbus_rtu.hpp"
#include "plant/plant.hpp"
#include "plant/server.hpp"

namespace cp = consentrig::plant;
using namespace std::chrono_literals;
using plant_test::wait_for;

namespace {

constexpr cp::TimeMs kStart = 1767567600000;  // 2026-01-05T00:00:00+01:00
constexpr cp::DurationMs kHour = 3600 * 1000;

enum class Link { tcp, rtu_server_opens_path, rtu_server_on_master };

std::string to_name(Link link) {
    switch (link) {
        case Link::tcp: return "Tcp";
        case Link::rtu_server_opens_path: return "RtuServerOpensPtyPath";
        case Link::rtu_server_on_master: return "RtuServerOnPtyMaster";
    }
    return "unknown";
}
std::string link_name(const testing::TestParamInfo<Link>& info) { return to_name(info.param); }
/// CTest names show the link, not its bytes.
void PrintTo(Link link, std::ostream* os) { *os << to_name(link); }

cp::PlantConfig quiet_config() {
    cp::PlantConfig c;
    c.sensor.noise_sigma_c = 0.0;
    c.initial_temperature_c = 18.0;
    c.humidity_pct = 45.0;
    return c;
}

std::int16_t as_i16(std::uint16_t v) { return static_cast<std::int16_t>(v); }

class PlantModbus : public testing::TestWithParam<Link> {
protected:
    void SetUp() override { start(quiet_config()); }

    void start(const cp::PlantConfig& config) {
        plant = std::make_shared<cp::Plant>(config, kStart);
        plant->use_manual_time();
        plant->set_observer([this](const cp::PlantEvent& e) {
            std::lock_guard lock(events_mutex);
            events.push_back(e);
        });
        switch (GetParam()) {
            case Link::tcp: {
                auto s = cp::Server::tcp("127.0.0.1", 0);
                ASSERT_TRUE(s) << s.error().message;
                server = std::move(*s);
                break;
            }
            case Link::rtu_server_opens_path: {
                pty = std::make_unique<plant_test::PtyPair>();
                ASSERT_FALSE(pty->path.empty());
                auto s = cp::Server::rtu(pty->path);
                ASSERT_TRUE(s) << s.error().message;
                server = std::move(*s);
                break;
            }
            case Link::rtu_server_on_master: {
                pty = std::make_unique<plant_test::PtyPair>();
                ASSERT_FALSE(pty->path.empty());
                auto s = cp::Server::rtu_fd(pty->release_master());
                ASSERT_TRUE(s) << s.error().message;
                server = std::move(*s);
                break;
            }
        }
        server->add_plant(cp::kDefaultUnitId, plant);
        ASSERT_TRUE(server->start());
        client = connect_client();
        ASSERT_NE(client, nullptr);
    }

    modbus_t* connect_client(int unit = 1) {
        switch (GetParam()) {
            case Link::tcp: return plant_test::tcp_client(server->port(), unit);
            case Link::rtu_server_opens_path: return plant_test::rtu_client_on_fd(pty->master, unit);
            case Link::rtu_server_on_master: return plant_test::rtu_client_on_path(pty->path, unit);
        }
        return nullptr;
    }

    void TearDown() override {
        if (client != nullptr) {
            if (GetParam() != Link::rtu_server_opens_path) modbus_close(client);  // not the test's fd
            modbus_free(client);
        }
        if (server) server->stop();
    }

    std::vector<std::uint16_t> input_registers(int addr = 0, int n = cp::kRegisterCount) {
        std::vector<std::uint16_t> v(static_cast<std::size_t>(n));
        EXPECT_EQ(modbus_read_input_registers(client, addr, n, v.data()), n) << modbus_strerror(errno);
        return v;
    }
    std::uint16_t ir(int addr) { return input_registers(addr, 1)[0]; }

    /// A raw request (unit + function + data; libmodbus adds header/CRC) and its answer's
    /// exception code, 0 for a normal answer, -1 for no answer.
    int raw_exception(std::vector<std::uint8_t> req) {
        if (modbus_send_raw_request(client, req.data(), static_cast<int>(req.size())) < 0) return -1;
        std::uint8_t rsp[MODBUS_MAX_ADU_LENGTH];
        const int n = modbus_receive_confirmation(client, rsp);
        if (n < 0) return -1;
        const int hl = modbus_get_header_length(client);
        if ((rsp[hl] & 0x80) == 0) return 0;
        return rsp[hl + 1];
    }

    std::shared_ptr<cp::Plant> plant;
    std::unique_ptr<plant_test::PtyPair> pty;
    std::unique_ptr<cp::Server> server;
    modbus_t* client = nullptr;
    std::mutex events_mutex;
    std::vector<cp::PlantEvent> events;
};

}  // namespace

TEST_P(PlantModbus, ReadsTheDocumentedRegisterMap) {
    const auto s = plant->snapshot();
    const auto r = input_registers();
    EXPECT_EQ(as_i16(r[cp::kRegRoomTemperature]), 1800);
    EXPECT_EQ(as_i16(r[cp::kRegOutdoorTemperature]), static_cast<std::int16_t>(std::lround(s.outdoor_c * 100)));
    EXPECT_EQ(r[cp::kRegHumidity], 4500);
    EXPECT_EQ(r[cp::kRegOccupancy], 1);
    EXPECT_EQ(r[cp::kRegDoor], 1);
    EXPECT_EQ(r[cp::kRegBolt], 1);
    EXPECT_EQ(r[cp::kRegBattery], 10000);
    EXPECT_EQ(r[cp::kRegHvacOutput], 0);
    EXPECT_EQ(r[cp::kRegMapVersion], cp::kRegisterMapVersion);

    // The same values as holding registers.
    std::vector<std::uint16_t> h(cp::kRegisterCount);
    ASSERT_EQ(modbus_read_registers(client, 0, cp::kRegisterCount, h.data()), cp::kRegisterCount);
    EXPECT_EQ(h, r);

    std::uint8_t in[cp::kDiscreteInputCount] = {};
    ASSERT_EQ(modbus_read_input_bits(client, 0, cp::kDiscreteInputCount, in), cp::kDiscreteInputCount);
    EXPECT_EQ(in[cp::kInOccupied], 1);
    EXPECT_EQ(in[cp::kInDoorClosed], 1);
    EXPECT_EQ(in[cp::kInBoltLocked], 1);
    EXPECT_EQ(in[cp::kInMotorRunning], 0);
    std::uint8_t coils[cp::kCoilCount] = {1, 1, 1, 1};
    ASSERT_EQ(modbus_read_bits(client, 0, cp::kCoilCount, coils), cp::kCoilCount);
    for (auto c : coils) EXPECT_EQ(c, 0);

    // Stimuli from the rig show on the next read.
    plant->set_occupied(false);
    plant->set_door_closed(false);
    plant->set_humidity_pct(51.25);
    EXPECT_EQ(ir(cp::kRegOccupancy), 0);
    EXPECT_EQ(ir(cp::kRegDoor), 0);
    EXPECT_EQ(ir(cp::kRegHumidity), 5125);
}

TEST_P(PlantModbus, HeatingCoilWarmsTheRoomOverPlantTime) {
    const std::int16_t t0 = as_i16(ir(cp::kRegRoomTemperature));
    ASSERT_EQ(modbus_write_bit(client, cp::kCoilHeat, 1), 1) << modbus_strerror(errno);
    EXPECT_EQ(ir(cp::kRegHvacOutput), 1);
    EXPECT_TRUE(plant->snapshot().heat);
    plant->advance(kHour);
    const std::int16_t t1 = as_i16(ir(cp::kRegRoomTemperature));
    // 2.2 °C/h of heating against 18 °C − ~−3 °C of losses over 30 h: about +1.5 °C in the hour.
    EXPECT_GT(t1 - t0, 120);
    EXPECT_LT(t1 - t0, 220);
    EXPECT_NEAR(t1, plant->snapshot().room_c * 100, 0.51);

    ASSERT_EQ(modbus_write_bit(client, cp::kCoilHeat, 0), 1);
    plant->advance(kHour);
    const std::int16_t t2 = as_i16(ir(cp::kRegRoomTemperature));
    EXPECT_LT(t2, t1);  // off again: the house loses heat
    {
        std::lock_guard lock(events_mutex);
        ASSERT_EQ(events.size(), 2U);
        EXPECT_EQ(events[0].coil, cp::kCoilHeat);
        EXPECT_TRUE(events[0].value);
        EXPECT_FALSE(events[1].value);
        EXPECT_EQ(events[1].t - events[0].t, kHour);
    }
    EXPECT_EQ(plant->snapshot().counters.coil_writes, 2U);
}

TEST_P(PlantModbus, CoolCoilCoolsFasterThanTheHouseAlone) {
    plant->set_room_temperature_c(26.0);
    const std::int16_t t0 = as_i16(ir(cp::kRegRoomTemperature));
    plant->advance(kHour);
    const int idle_drop = t0 - as_i16(ir(cp::kRegRoomTemperature));
    ASSERT_EQ(modbus_write_bit(client, cp::kCoilCool, 1), 1);
    EXPECT_EQ(ir(cp::kRegHvacOutput), 2);
    const std::int16_t t1 = as_i16(ir(cp::kRegRoomTemperature));
    plant->advance(kHour);
    const int cool_drop = t1 - as_i16(ir(cp::kRegRoomTemperature));
    EXPECT_GT(cool_drop, idle_drop + 150);  // 2.2 °C/h of cooling on top of the losses
}

TEST_P(PlantModbus, HeatingWarmsTheRoomInAcceleratedRealTime) {
    // Back on the wall clock, 36,000 × faster (10 h of house time per second).
    ASSERT_TRUE(plant->set_time_scale(36000.0));
    plant->use_real_time();
    const std::int16_t t0 = as_i16(ir(cp::kRegRoomTemperature));
    ASSERT_EQ(modbus_write_bit(client, cp::kCoilHeat, 1), 1);
    std::int16_t last = t0;
    EXPECT_TRUE(wait_for(
        [&] {
            last = as_i16(ir(cp::kRegRoomTemperature));
            return last >= t0 + 100;  // +1 °C: ~40 min of house time, ~70 ms of wall time
        },
        20s))
        << "temperature register stayed at " << last << " (started at " << t0 << ")";
}

TEST_P(PlantModbus, LockMotorMovesTheBoltAndDrainsTheBattery) {
    ASSERT_EQ(modbus_write_bit(client, cp::kCoilMotorUnlock, 1), 1);
    EXPECT_EQ(ir(cp::kRegBolt), 3);  // unlocking
    std::uint8_t running = 0;
    ASSERT_EQ(modbus_read_input_bits(client, cp::kInMotorRunning, 1, &running), 1);
    EXPECT_EQ(running, 1);
    plant->advance(1999);
    EXPECT_EQ(ir(cp::kRegBolt), 3);
    plant->advance(1);
    EXPECT_EQ(ir(cp::kRegBolt), 0);  // unlocked after the 2 s travel
    EXPECT_EQ(ir(cp::kRegBattery), 9998);
    ASSERT_EQ(modbus_write_bit(client, cp::kCoilMotorUnlock, 0), 1);  // motor stop

    ASSERT_EQ(modbus_write_bit(client, cp::kCoilMotorLock, 1), 1);
    EXPECT_EQ(ir(cp::kRegBolt), 2);  // locking
    plant->advance(2000);
    EXPECT_EQ(ir(cp::kRegBolt), 1);
    EXPECT_EQ(ir(cp::kRegBattery), 9996);
    ASSERT_EQ(modbus_write_bit(client, cp::kCoilMotorLock, 0), 1);

    // Both directions at once (FC 15): the driver refuses, nothing moves, nothing drains.
    const std::uint8_t both[2] = {1, 1};
    ASSERT_EQ(modbus_write_bits(client, cp::kCoilMotorLock, 2, both), 2);
    EXPECT_EQ(ir(cp::kRegBolt), 1);
    plant->advance(5000);
    EXPECT_EQ(ir(cp::kRegBolt), 1);
    EXPECT_EQ(ir(cp::kRegBattery), 9996);
}

TEST_P(PlantModbus, StuckAndDriftingSensorFaults) {
    ASSERT_EQ(modbus_write_bit(client, cp::kCoilHeat, 1), 1);
    const std::uint16_t before = ir(cp::kRegRoomTemperature);
    plant->inject_sensor_stuck();
    plant->advance(kHour);
    EXPECT_EQ(ir(cp::kRegRoomTemperature), before);      // frozen…
    EXPECT_GT(plant->snapshot().room_c * 100, before + 100);  // …while the room warmed

    plant->clear_sensor_fault();
    plant->inject_sensor_drift(-2.0);
    plant->advance(kHour);
    const auto s = plant->snapshot();
    EXPECT_NEAR(as_i16(ir(cp::kRegRoomTemperature)), (s.room_c - 2.0) * 100, 0.51);
}

TEST_P(PlantModbus, TimeoutFaultStopsAnsweringForAWhile) {
    modbus_set_response_timeout(client, 0, 300000);
    plant->stop_answering(10000);
    std::uint16_t v = 0;
    errno = 0;
    EXPECT_EQ(modbus_read_input_registers(client, 0, 1, &v), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
    EXPECT_TRUE(wait_for([&] { return plant->snapshot().counters.dropped == 1; }, 10s));
    plant->advance(10000);
    modbus_flush(client);
    modbus_set_response_timeout(client, 2, 0);
    EXPECT_EQ(modbus_read_input_registers(client, cp::kRegMapVersion, 1, &v), 1) << modbus_strerror(errno);
    EXPECT_EQ(v, cp::kRegisterMapVersion);
}

TEST_P(PlantModbus, BadRequestsGetModbusExceptions) {
    std::uint16_t regs[2];
    errno = 0;
    EXPECT_EQ(modbus_read_input_registers(client, cp::kRegMapVersion, 2, regs), -1);  // past the end
    EXPECT_EQ(errno, EMBXILADD);
    EXPECT_EQ(modbus_write_register(client, 0, 1), -1);  // measurements are read-only
    EXPECT_EQ(errno, EMBXILFUN);
    const std::uint16_t two[2] = {1, 2};
    EXPECT_EQ(modbus_write_registers(client, 0, 2, two), -1);
    EXPECT_EQ(errno, EMBXILFUN);
    EXPECT_EQ(modbus_write_bit(client, cp::kCoilCount, 1), -1);  // no such coil
    EXPECT_EQ(errno, EMBXILADD);

    EXPECT_EQ(raw_exception({1, 0x04, 0x00, 0x00, 0x00, 0x00}), MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);  // 0 registers
    EXPECT_EQ(raw_exception({1, 0x04, 0x00, 0x00, 0x00, 126}), MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);   // > 125
    EXPECT_EQ(raw_exception({1, 0x05, 0x00, 0x00, 0x12, 0x34}), MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);  // not ON/OFF
    EXPECT_EQ(raw_exception({1, 0x2B, 0x0E, 0x01, 0x00}), MODBUS_EXCEPTION_ILLEGAL_FUNCTION);          // not served
    EXPECT_EQ(raw_exception({1, 0x07}), MODBUS_EXCEPTION_ILLEGAL_FUNCTION);            // exception status
    EXPECT_EQ(raw_exception({1, 0x41}), MODBUS_EXCEPTION_ILLEGAL_FUNCTION);            // user-defined

    // After all that the plant still answers, and counted what it did.
    EXPECT_EQ(ir(cp::kRegMapVersion), cp::kRegisterMapVersion);
    const auto c = plant->snapshot().counters;
    EXPECT_EQ(c.exceptions, 10U);
    EXPECT_EQ(c.replies, c.requests);
    EXPECT_EQ(plant->snapshot().heat, false);
}

INSTANTIATE_TEST_SUITE_P(Links, PlantModbus,
                         testing::Values(Link::tcp, Link::rtu_server_opens_path, Link::rtu_server_on_master),
                         link_name);

// ---- RTU only: a byte stream with garbage, other units, broadcasts ---------------------------

class PlantRtu : public PlantModbus {};

TEST_P(PlantRtu, ResynchronisesAfterGarbageOnTheLine) {
    // Line noise right before a request: the server slides byte by byte until a CRC matches.
    const std::uint8_t noise[] = {0x01, 0x04, 0xFF, 0x13, 0x00, 0x07, 0x55};
    const int fd = GetParam() == Link::rtu_server_opens_path ? pty->master : modbus_get_socket(client);
    ASSERT_EQ(::write(fd, noise, sizeof noise), static_cast<ssize_t>(sizeof noise));
    EXPECT_EQ(ir(cp::kRegMapVersion), cp::kRegisterMapVersion);
    // Skipped as CRC failures — or as a partial frame, had the request come after the timeout.
    const auto st = server->stats();
    EXPECT_GT(st.bad_crc + st.bad_frames, 0U);

    // A truncated request followed by silence is given up after the byte timeout.
    const std::uint8_t half[] = {0x01, 0x04, 0x00};
    ASSERT_EQ(::write(fd, half, sizeof half), static_cast<ssize_t>(sizeof half));
    EXPECT_TRUE(wait_for([&] { return server->stats().bad_frames >= st.bad_frames + 3; }, 10s));
    EXPECT_EQ(ir(cp::kRegMapVersion), cp::kRegisterMapVersion);
}

TEST_P(PlantRtu, OtherUnitsAndBroadcastsGetNoAnswer) {
    modbus_set_response_timeout(client, 0, 200000);
    std::uint16_t v = 0;
    modbus_set_slave(client, 7);
    EXPECT_EQ(modbus_read_input_registers(client, 0, 1, &v), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
    modbus_set_slave(client, 1);
    modbus_set_response_timeout(client, 2, 0);
    EXPECT_EQ(modbus_read_input_registers(client, cp::kRegMapVersion, 1, &v), 1);
    // A broadcast write (unit 0) is not answered and not applied.
    const std::uint8_t bcast[] = {0x00, 0x05, 0x00, 0x00, 0xFF, 0x00};
    ASSERT_GT(modbus_send_raw_request(client, bcast, sizeof bcast), 0);
    EXPECT_TRUE(wait_for([&] { return server->stats().broadcasts == 1; }, 10s));
    EXPECT_FALSE(plant->snapshot().heat);
    EXPECT_EQ(server->stats().other_unit, 1U);
}

INSTANTIATE_TEST_SUITE_P(Links, PlantRtu, testing::Values(Link::rtu_server_opens_path, Link::rtu_server_on_master),
                         link_name);

// ---- TCP only: several clients and plants -----------------------------------------------------

TEST(PlantTcp, ServesSeveralClientsAndUnits) {
    auto a = std::make_shared<cp::Plant>(quiet_config(), kStart);
    cp::PlantConfig cb = quiet_config();
    cb.initial_temperature_c = 22.0;
    auto b = std::make_shared<cp::Plant>(cb, kStart);
    auto s = cp::Server::tcp("127.0.0.1", 0);
    ASSERT_TRUE(s);
    auto server = std::move(*s);
    server->add_plant(1, a);
    server->add_plant(2, b);
    ASSERT_TRUE(server->start());

    modbus_t* c1 = plant_test::tcp_client(server->port(), 1);
    modbus_t* c2 = plant_test::tcp_client(server->port(), 2);
    ASSERT_NE(c1, nullptr);
    ASSERT_NE(c2, nullptr);
    std::uint16_t v1 = 0;
    std::uint16_t v2 = 0;
    EXPECT_EQ(modbus_read_input_registers(c1, 0, 1, &v1), 1);
    EXPECT_EQ(modbus_read_input_registers(c2, 0, 1, &v2), 1);
    EXPECT_NEAR(as_i16(v1), 1800, 2);
    EXPECT_NEAR(as_i16(v2), 2200, 2);
    // A unit nobody serves: gateway exception 0x0B.
    modbus_set_slave(c1, 9);
    errno = 0;
    EXPECT_EQ(modbus_read_input_registers(c1, 0, 1, &v1), -1);
    EXPECT_EQ(errno, EMBXGTAR);
    // A malformed MBAP header (protocol id 1) closes that connection only.
    const int fd = modbus_get_socket(c1);
    const std::uint8_t bad[] = {0, 1, 0, 1, 0, 6, 1, 4, 0, 0, 0, 1};
    ASSERT_EQ(::send(fd, bad, sizeof bad, 0), static_cast<ssize_t>(sizeof bad));
    EXPECT_TRUE(wait_for([&] { return server->stats().bad_frames == 1; }, 10s));
    EXPECT_EQ(modbus_read_input_registers(c2, 0, 1, &v2), 1);
    modbus_close(c1);
    modbus_free(c1);
    modbus_close(c2);
    modbus_free(c2);
    server->stop();
    EXPECT_EQ(server->stats().connections, 2U);
}

// ---- RTU on a device that vanishes (QEMU killed, USB unplugged) -------------------------------

TEST(PlantRtuDevice, AVanishingDeviceIsALinkErrorNotAHang) {
    auto pty = std::make_unique<plant_test::PtyPair>();
    auto s = cp::Server::rtu(pty->path);
    ASSERT_TRUE(s) << s.error().message;
    auto server = std::move(*s);
    server->add_plant(1, std::make_shared<cp::Plant>(quiet_config(), kStart));
    ASSERT_TRUE(server->start());
    modbus_t* c = plant_test::rtu_client_on_fd(pty->master);
    std::uint16_t v = 0;
    EXPECT_EQ(modbus_read_input_registers(c, cp::kRegMapVersion, 1, &v), 1);
    modbus_free(c);
    pty.reset();  // both ends of the pair closed: the device is gone
    EXPECT_TRUE(wait_for([&] { return server->stats().link_errors >= 1; }, 10s));
    server->stop();  // still stops promptly while it retries opening the path
    EXPECT_FALSE(server->running());
    EXPECT_EQ(server->stats().connections, 1U);
}
