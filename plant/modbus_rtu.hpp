#pragma once
/// plant/modbus_rtu.hpp — Modbus RTU framing helpers shared by the server and its tests.
///
/// An RTU request on a byte stream (a pty has no inter-frame silence to go by) is delimited by
/// its function code, as libmodbus does: FC 1–6 are 8 bytes, FC 15/16 carry a byte count, FC 22
/// is 10 bytes, FC 23 carries a byte count at offset 10, FC 43 (read device identification) is
/// 7 bytes, FC 7/11/12/17 and every unknown function code are address + function + CRC (4 bytes). The CRC is Modbus CRC-16 (poly 0xA001 reflected,
/// init 0xFFFF), sent low byte first.
#include <cstddef>
#include <cstdint>

namespace consentrig::plant {

inline constexpr std::size_t kRtuMaxAdu = 256;

/// Modbus CRC-16 of `len` bytes.
[[nodiscard]] constexpr std::uint16_t modbus_crc16(const std::uint8_t* p, std::size_t len) noexcept {
    std::uint16_t crc = 0xFFFF;
    for (std::size_t i = 0; i < len; ++i) {
        crc = static_cast<std::uint16_t>(crc ^ p[i]);
        for (int b = 0; b < 8; ++b) {
            crc = (crc & 1U) != 0 ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001U)
                                  : static_cast<std::uint16_t>(crc >> 1);
        }
    }
    return crc;
}

/// The total length (CRC included) of the RTU request at the start of `p`, given the `len`
/// bytes seen so far; 0 while more bytes are needed to tell.
[[nodiscard]] constexpr std::size_t rtu_request_length(const std::uint8_t* p, std::size_t len) noexcept {
    if (len < 2) return 0;
    switch (p[1]) {
        case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: return 8;
        case 0x0F: case 0x10: return len < 7 ? 0 : std::size_t{9} + p[6];
        case 0x16: return 10;
        case 0x17: return len < 11 ? 0 : std::size_t{13} + p[10];
        case 0x2B: return 7;  // encapsulated interface: MEI type, code, object id
        default: return 4;
    }
}

/// true when the `len`-byte frame at p ends with its correct CRC.
[[nodiscard]] constexpr bool rtu_crc_ok(const std::uint8_t* p, std::size_t len) noexcept {
    if (len < 4) return false;
    const std::uint16_t crc = modbus_crc16(p, len - 2);
    return p[len - 2] == (crc & 0xFFU) && p[len - 1] == (crc >> 8);
}

}  // namespace consentrig::plant
