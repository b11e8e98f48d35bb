/*
 * Status in the simulator: one JSON message to the world per change.
 */
type DeviceState = "booting" | "provisioning" | "connecting" | "online" | "offline" | "capturing" | "fault";

import { send } from "sim/bridge";
import { ToWorld } from "sim/bridge/messages";

export function show(state: DeviceState, detail?: Record<string, string | number | boolean>): void {
	send(ToWorld.Status, ArrayBuffer.fromString(JSON.stringify({ ...detail, state })));
}

/** The world sees the live view's indicator as its own status message: {"state": "watching", "watching": count}. */
export function watching(count: number): void {
	send(ToWorld.Status, ArrayBuffer.fromString(JSON.stringify({ state: "watching", watching: count })));
}
