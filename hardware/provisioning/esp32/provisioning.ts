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
 */
import device from "embedded:provider/builtin";
import Timer from "timer";

const baud = 115200;
const repeatMs = 2000;
const maxLine = 4096 - 12;
const request = ArrayBuffer.fromString('{"doorward":"configuration-request","protocol":1}\n');

export function requestConfiguration(): Promise<ArrayBuffer> {
	return new Promise((resolve) => {
		const { io: Serial, ...pins } = device.Serial.default as typeof device.Serial.default & { io: typeof device.io.Serial };
		const line = new Uint8Array(maxLine);
		let length = 0;
		let overlong = false;
		const serial = new Serial({
			...pins,
			baud,
			format: "buffer",
			onReadable(count: number) {
				const bytes = new Uint8Array(serial.read(count) as ArrayBuffer);
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
					if (complete) {
						Timer.clear(repeater);
						serial.close();
						resolve(line.slice(0, end).buffer);
						return;
					}
				}
			},
		});
		const repeater = Timer.repeat(() => serial.write(request), repeatMs);
		serial.write(request);
	});
}
