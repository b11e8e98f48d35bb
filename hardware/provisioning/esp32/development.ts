/*
 * The provisioning port in a development build: the local channel, as in a
 * release build (provisioning.ts), plus the interim configuration channel,
 * which a release build does not have (the manifest maps this file only for
 * DOORWARD_BUILD=development: variants/development/manifest.json).
 *
 * Line protocol, one line each way, "\n"-terminated UTF-8 (serial.ts):
 *
 *   device  -> station   {"doorward":"configuration-request","protocol":1}
 *   station -> device    the configuration, one line of JSON, at most 4084
 *                        bytes: what one flash record holds.
 *
 * The device repeats its request every 2 s until a line arrives, so the
 * station may be attached after the device boots. If the firmware refuses
 * the configuration it calls again, so the station sees a new request: that
 * is the refusal, and the reason is in the console log.
 *
 * The factory line uses the same port, at any time: a line that is a
 * JSON object whose "doorward" member is "setup-code", "csr" or "provision"
 * is a factory request (src/onboarding/factory-line.ts), answered
 * by one line of JSON; any other line is a configuration. Once a "provision"
 * request has been answered the configuration requests stop: the factory
 * has configured the device.
 */
import Timer from "timer";
import { openLines, writeLine } from "hardware/provisioning/serial";

// Phones are admitted on the BLE onboarding link, never on this port.
export { onLocalLink } from "hardware/provisioning/local-link";
export { joinNetwork } from "hardware/provisioning/wifi";

const repeatMs = 2000;
const request = ArrayBuffer.fromString('{"doorward":"configuration-request","protocol":1}');
const localRequests = Object.freeze(["setup-code", "csr", "provision"]);

let opened = false;
let waitingForConfiguration: ((line: ArrayBuffer) => void) | undefined;
let repeater: ReturnType<typeof Timer.repeat> | undefined;
let pairingHandler: ((request: ArrayBuffer) => ArrayBuffer) | undefined;

/** The "doorward" member of a local-channel request, or undefined for any other line. */
function localRequest(line: ArrayBuffer): string | undefined {
	try {
		const message = JSON.parse(String.fromArrayBuffer(line));
		const kind = (typeof message === "object") && (message !== null) ? message.doorward : undefined;
		return localRequests.includes(kind) ? kind : undefined;
	}
	catch {
		return undefined;
	}
}

function stopRequesting(): void {
	if (repeater)
		Timer.clear(repeater);
	repeater = undefined;
}

function dispatch(line: ArrayBuffer): void {
	const kind = localRequest(line);
	if (pairingHandler && kind) {
		writeLine(pairingHandler(line));
		if (kind === "provision")
			stopRequesting();
		return;
	}
	const resolve = waitingForConfiguration;
	waitingForConfiguration = undefined;
	resolve?.(line);
}

function open(): void {
	if (!opened)
		openLines(dispatch);
	opened = true;
}

export function requestConfiguration(): Promise<ArrayBuffer> {
	return new Promise((resolve) => {
		open();
		repeater = Timer.repeat(() => writeLine(request), repeatMs);
		waitingForConfiguration = (line) => {
			stopRequesting();
			resolve(line);
		};
		writeLine(request);
	});
}

export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void {
	pairingHandler = handler;
	open();
}
