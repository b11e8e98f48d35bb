/*
 * The running firmware's version, as release manifests number it. A release
 * build sets it (the simulator's image tool replaces this module).
 */
import type { FirmwareVersion } from "update/format";

export const firmwareVersion: FirmwareVersion = Object.freeze({ major: 1, minor: 0, patch: 0 });
