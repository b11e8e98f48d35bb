/*
 * The device's end of the factory provisioning channel: the board's UART
 * (the ECMA-419 host provider's default Serial; on the XIAO ESP32S3 Sense,
 * UART0 on D7/GPIO44 receive and D6/GPIO43 transmit, free because the
 * console is on USB), 115200 baud, 8N1.
 *
 * Line protocol, one line each way, "\n"-terminated UTF-8:
 *
 *   device  -> station   {"doorward":"configuration-request","protocol":1}
 *   station -> device    the configuration, one line of JSON (a "\r" before
 *                        the "\n" is dropped), at most 4084 bytes: what one
 *                        flash record holds (src/store/record.ts).
 *
 * The device repeats its request every 2 s until a line arrives, so the
 * station may be attached after the device boots. Empty lines are ignored;
 * a line longer than the limit is discarded whole. Bytes after the
 * configuration's "\n" are discarded. If the firmware refuses the
 * configuration it calls again, so the station sees a new request: that is
 * the refusal, and the reason is in the console log.
 *
 * Pairing and the factory use the same port, at any time: a line that is a
 * JSON object whose "doorward" member is "pair", "csr" or "provision" is a
 * local-channel request (src/main.ts, src/device/tls-identity.ts), answered
 * by one line of JSON. Once a "provision" request has been answered the
 * configuration requests stop: the factory has configured the device.
 * Only someone with the device in hand can reach this port.
 */
import device from "embedded:provider/builtin";
import Timer from "timer";

const baud = 115200;
const repeatMs = 2000;
const maxLine = 4096 - 12;
const request = ArrayBuffer.fromString('{"doorward":"configuration-request","protocol":1}\n');

type Serial = InstanceType<typeof device.io.Serial>;

let serial: Serial | undefined;
let waitingForConfiguration: ((line: ArrayBuffer) => void) | undefined;
let repeater: ReturnType<typeof Timer.repeat> | undefined;
const localRequests = ["pair", "csr", "provision"];
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

function dispatch(line: ArrayBuffer): void {
	const kind = localRequest(line);
	if (pairingHandler && kind) {
		serial!.write(pairingHandler(line).concat(ArrayBuffer.fromString("\n")));
		if ((kind === "provision") && repeater) {
			Timer.clear(repeater);
			repeater = undefined;
		}
		return;
	}
	const resolve = waitingForConfiguration;
	waitingForConfiguration = undefined;
	resolve?.(line);
}

function open(): Serial {
	if (serial)
		return serial;
	const { io: SerialPort, ...pins } = device.Serial.default as typeof device.Serial.default & { io: typeof device.io.Serial };
	const line = new Uint8Array(maxLine);
	let length = 0;
	let overlong = false;
	const port: Serial = new SerialPort({
		...pins,
		baud,
		format: "buffer",
		onReadable(count: number) {
			const bytes = new Uint8Array(port.read(count) as ArrayBuffer);
			for (const byte of bytes) {
				if (byte !== 0x0A) {
					if (length === maxLine)
						overlong = true;
					else
						line[length++] = byte;
					continue;
				}
				const end = (length && (line[length - 1] === 0x0D)) ? length - 1 : length;
				const complete = !overlong && (end > 0);
				overlong = false;
				length = 0;
				if (complete)
					dispatch(line.slice(0, end).buffer);
			}
		},
	});
	serial = port;
	return port;
}

export function requestConfiguration(): Promise<ArrayBuffer> {
	return new Promise((resolve) => {
		const port = open();
		repeater = Timer.repeat(() => port.write(request), repeatMs);
		waitingForConfiguration = (line) => {
			if (repeater)
				Timer.clear(repeater);
			repeater = undefined;
			resolve(line);
		};
		port.write(request);
	});
}

export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void {
	pairingHandler = handler;
	open();
}
