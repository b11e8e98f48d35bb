/*
 * The device's status indicator: an LED pattern on hardware, a status message
 * to the world in the simulator (which tests and `doorward sim` wait on).
 */
declare module "hardware/status" {
	export type DeviceState = "booting" | "provisioning" | "connecting" | "online" | "offline" | "capturing" | "fault";
	export function show(state: DeviceState, detail?: Record<string, string | number | boolean>): void;
	/**
	 * How many phones are watching the live view now (live/service): while
	 * any is, the indicator says so whatever the state, so that whoever is at
	 * the door can see that someone is looking. 0 ends it.
	 */
	export function watching(count: number): void;
}
