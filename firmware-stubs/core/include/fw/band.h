/*
 * fw/band.h — which room temperatures a thermostat would act on.
 *
 * A host that simulates the room in closed form (the fleet simulator) need not feed the
 * firmware a reading every few seconds: between two readings nothing happens unless the new
 * reading lies outside the band this function returns. The host asks for the band after every
 * call into the device and delivers the next reading when the room temperature reaches an edge.
 */
#ifndef FW_BAND_H
#define FW_BAND_H

#include <stdint.h>

#include "fw/fw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A reading r with lo < r < hi changes nothing the device would report or switch (only the
   stored value); a reading at or beyond an edge may. lo = INT16_MIN / hi = INT16_MAX when no
   edge exists on that side (and both for a lock, or before the first reading). Conservative:
   edges of every control mode and of the report threshold are included. */
void fw_temperature_band(const fw_device* dev, int16_t* lo_centi_c, int16_t* hi_centi_c);

#ifdef __cplusplus
}
#endif

#endif /* FW_BAND_H */
