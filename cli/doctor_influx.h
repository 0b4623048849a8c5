/*
 * leafmon doctor checks for the local InfluxDB writer (doctor_influx.c).
 * To be registered in cli/doctor.c's table (and declared in cli.h).
 */
#ifndef LEAFMON_DOCTOR_INFLUX_H
#define LEAFMON_DOCTOR_INFLUX_H

struct doctor;
void doctor_influx_checks(struct doctor *d);

#endif
