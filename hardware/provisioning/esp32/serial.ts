/*
 * The device's provisioning port as a line channel: the board's UART (the
 * ECMA-419 host provider's default Serial; on the XIAO ESP32S3 Sense, UART0
 * on D7/GPIO44 receive and D6/GPIO43 transmit, free because the console is
 * on USB), 115200 baud, 8N1. Only someone with the device in hand can reach
 * it. Every build has it: the local channel (provisioning.ts) is on it, and
 * a development build's configuration requests too (development.ts).
 *
 * One line each way, "\n"-terminated UTF-8. A "\r" before the "\n" is
 * dropped, empty lines are ignored, and a line longer than maxLine is
 * discarded whole, so a partial line is never taken for a request.
 */
import device from "embedded:provider/builtin";

const baud = 115200;
/** What one flash record holds (src/store/record.ts): a configuration line must fit one. */
export const maxLine = 4096 - 12;
const newline = ArrayBuffer.fromString("\n");

type Serial = InstanceType<typeof device.io.Serial>;

let serial: Serial | undefined;

/** Opens the port; each complete line, without its line end, goes to `onLine`. Once per boot. */
export function openLines(onLine: (line: ArrayBuffer) => void): void {
	if (serial)
		throw new Error("provisioning port: already open");
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
					onLine(line.slice(0, end).buffer);
			}
		},
	});
	serial = port;
}

/** Writes `bytes` and a "\n". */
export function writeLine(bytes: ArrayBuffer): void {
	if (!serial)
		throw new Error("provisioning port: not open");
	serial.write(bytes.concat(newline));
}
