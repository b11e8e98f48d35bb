/*
 * Status in Moddable's lin simulator, which has no LED: one trace line per
 * change, on mcsim's console and in xsbug, where a developer looks.
 */
type DeviceState = "booting" | "provisioning" | "connecting" | "online" | "offline" | "capturing" | "fault";

const states: readonly string[] = Object.freeze(["booting", "provisioning", "connecting", "online", "offline", "capturing", "fault"]);

export function show(state: DeviceState, detail?: Record<string, string | number | boolean>): void {
	if (!states.includes(state))
		throw new RangeError(`status: unknown state ${state}`);
	trace(`doorward status ${state}${detail ? ` ${JSON.stringify(detail)}` : ""}\n`);
}

export function watching(count: number): void {
	trace(`doorward status watching ${count}\n`);
}
