/* Prints the doctor's findings: one line per client (PASS/FAIL and, for a
 * failure, the fix), then every check; or one JSON object for CI. Writes
 * to a FILE the caller owns; reads only struct doctor_results. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "doctor/check.h"

/* Returns true when every client passes. */
bool doctor_report_text(const char *mount, const struct doctor_results *r, FILE *out);
bool doctor_report_json(const char *mount, const struct doctor_results *r, FILE *out);
