/*
 * The device's local channel, in a release build: the provisioning port
 * (serial.ts, UART0 at 115200 8N1), one JSON request per line and one JSON
 * reply per line. The factory's "csr" and "provision" requests, pairing and
 * the first update root all come this way (src/main.ts,
 * src/device/tls-identity.ts), so every line goes to the handler, which
 * answers even a line it cannot read, with {"ok":false,"error":...}.
 *
 * A release build has no other way in: the device never asks for a
 * configuration, and takes one only inside the factory's "provision"
 * request, which carries no key. The interim configuration channel of
 * development builds is development.ts, and the manifest leaves it out of
 * a release build (variants/release/manifest.json).
 */
import { openLines, writeLine } from "hardware/provisioning/serial";

export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void {
	openLines((line) => writeLine(handler(line)));
}
