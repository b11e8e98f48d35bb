/*
 * The running firmware's version, as release manifests number it, and when
 * it was built. A release build sets both: the simulator's image tool
 * (tools/release/sim-image.ts) replaces this module, and the simulator's
 * build (tools/build/firmware.ts) writes the time of the build into the
 * compiled module. A device release writes them before mcconfig runs
 * (docs/protocol/update.md, "Time and expiry").
 */
import type { FirmwareVersion } from "update/format";

export const firmwareVersion: FirmwareVersion = Object.freeze({ major: 1, minor: 0, patch: 0 });

/**
 * Milliseconds since the epoch at which this firmware was built: the device's
 * clock is never trusted below it (src/device/time.ts). The number here is
 * the floor of a build that does not write it: when this line last changed
 * (2026-12-01T00:00:00Z). It must stay one plain number literal: the build
 * rewrites it.
 */
export const buildTime = 1796083200000;
