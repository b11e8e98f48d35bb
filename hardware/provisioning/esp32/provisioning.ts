/*
 * The device's local channel, in a release build: the provisioning port
 * (serial.ts, UART0 at 115200 8N1), one JSON request per line and one JSON
 * reply per line: the factory line (src/onboarding/factory-line.ts). The
 * factory's "setup-code", "csr" and "provision" requests and the first update
 * root come this way, so every line goes to the handler, which answers even
 * a line it cannot read, with {"ok":false,"error":...}. Phones never do:
 * they are admitted on the BLE onboarding link (local-link.ts) with the
 * label's code, and the provisioning lock closes this port to the factory.
 *
 * A release build has no other way in: the device never asks for a
 * configuration, and takes one only inside the factory's "provision"
 * request, which carries no key. The interim configuration channel of
 * development builds is development.ts, and the manifest leaves it out of
 * a release build (variants/release/manifest.json).
 */
import { openLines, writeLine } from "hardware/provisioning/serial";

export { onLocalLink } from "hardware/provisioning/local-link";
export { joinNetwork } from "hardware/provisioning/wifi";

export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void {
	openLines((line) => writeLine(handler(line)));
}
