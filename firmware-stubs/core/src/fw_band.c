#include "fw/band.h"

/* Narrows (lo, hi) around t with the edge e: the band must stay strictly around the reading. */
static void narrow(int t, int e, int* lo, int* hi) {
    if (e < t && e > *lo) *lo = e;
    if (e > t && e < *hi) *hi = e;
}

void fw_temperature_band(const fw_device* dev, int16_t* lo_centi_c, int16_t* hi_centi_c) {
    int lo = INT16_MIN, hi = INT16_MAX;
    const fw_config* c = dev->cfg;
    const int t = dev->k.t.temp_centi_c;
    if (c->kind == FW_KIND_THERMOSTAT && t != FW_TEMP_UNKNOWN) {
        const int sp = dev->k.t.setpoint_centi_c, h = c->hysteresis_centi_c;
        /* control targets: heat/cool at sp, eco below it, auto around it (written out: the
           host asks after every event, and a loop over a table of them was most of the cost) */
        const int eco = sp - c->eco_setback_centi_c, half = c->auto_deadband_centi_c / 2;
        narrow(t, sp - h, &lo, &hi);
        narrow(t, sp + h, &lo, &hi);
        narrow(t, eco - h, &lo, &hi);
        narrow(t, eco + h, &lo, &hi);
        narrow(t, sp - half - h, &lo, &hi);
        narrow(t, sp - half + h, &lo, &hi);
        narrow(t, sp + half - h, &lo, &hi);
        narrow(t, sp + half + h, &lo, &hi);
        /* the report-on-change threshold around the last reported value */
        const int rt = dev->k.t.reported_temp_centi_c;
        if (rt != FW_TEMP_UNKNOWN) {
            narrow(t, rt - c->report_delta_centi_c, &lo, &hi);
            narrow(t, rt + c->report_delta_centi_c, &lo, &hi);
        } else {
            lo = t - 1; /* nothing reported yet: the next reading matters */
            hi = t + 1;
        }
    }
    *lo_centi_c = (int16_t)lo;
    *hi_centi_c = (int16_t)hi;
}
