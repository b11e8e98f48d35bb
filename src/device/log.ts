/*
 * Firmware log lines, one per call: "doorward <level> <message>". They go to
 * the serial console on the device and to stderr in the simulator. Nothing
 * secret is ever passed here: log identifiers, sizes and reasons, not keys,
 * payloads or configuration values.
 */
export type Level = "info" | "warn" | "error";

function write(level: Level, message: string): void {
	trace(`doorward ${level} ${message}\n`);
}

export const log = Object.freeze({
	info: (message: string) => write("info", message),
	warn: (message: string) => write("warn", message),
	error: (message: string) => write("error", message),
});
