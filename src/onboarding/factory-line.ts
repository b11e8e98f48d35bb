/*
 * The factory line: one JSON request, one JSON reply, on the channel only
 * someone with the device in hand reaches (UART0 on the device, the bridge in
 * the simulator, files on lin). It carries the factory's requests, never a
 * phone's: phones are admitted only through the onboarding exchange
 * (./exchange.ts) with the label's code.
 *
 *   {"doorward":"setup-code"} -> {"ok":true,"deviceId","fingerprint","setupCode"}
 *       the passcode for the label printer (./setup-code.ts): drawn anew on
 *       each request, so only the last label printed opens the device.
 *       Refused once provisioning is locked or once the device has an owner.
 *   {"doorward":"csr"}, {"doorward":"provision",...}   device/tls-identity
 *       ("provision" carries the factory's first update root, too)
 *
 * The lock that "provision" writes closes the line for "setup-code" and the
 * factory requests alike (device/tls-identity refuses after it).
 */
import type { FlashRegion } from "store/flash-region";
import type { Identity } from "device/identity";
import type { DeviceKeys } from "device/keys";
import { isFactoryRequest, provisioningLocked } from "device/tls-identity";
import type { FactoryRequest, FactoryReply } from "device/tls-identity";
import { owned } from "device/recipients";
import { newSetupCode } from "onboarding/setup-code";
import { utf8Decode, utf8Encode } from "util/bytes";

export interface FactoryLine {
	readonly flash: FlashRegion;
	readonly identity: Identity;
	readonly keys: DeviceKeys;
	readonly factory: (request: FactoryRequest) => FactoryReply;
	log(level: "info" | "warn", line: string): void;
}

function reply(json: Record<string, unknown>): ArrayBuffer {
	return utf8Encode(JSON.stringify(json)).buffer as ArrayBuffer;
}

/** The handler for hardware/provisioning's onPairingRequest (the factory line). */
export function factoryLineHandler(line: FactoryLine): (request: ArrayBuffer) => ArrayBuffer {
	return (request) => {
		try {
			const message = JSON.parse(utf8Decode(new Uint8Array(request)));
			if (message?.doorward === "setup-code") {
				if (provisioningLocked(line.flash))
					throw new Error("provisioning is locked: the label was printed before the lock");
				if (owned())
					throw new Error("the device has an owner: no new setup code");
				const setupCode = newSetupCode();
				// The code goes to the label printer in this reply and nowhere else: not to the log.
				line.log("info", "factory: setup code drawn, its verifier stored");
				return reply({ ok: true, deviceId: line.identity.deviceId, fingerprint: line.keys.fingerprint, setupCode });
			}
			if (isFactoryRequest(message)) {
				const answer = line.factory(message);
				if (answer.ok)
					line.log("info", `factory: ${message.doorward} done`);
				else
					line.log("warn", `factory: ${message.doorward} refused: ${answer.error}`);
				return reply(answer as unknown as Record<string, unknown>);
			}
			throw new Error("the factory line takes setup-code, csr and provision; phones pair over the onboarding link");
		}
		catch (error) {
			line.log("warn", `factory line: refused: ${(error as Error).message}`);
			return reply({ ok: false, error: (error as Error).message });
		}
	};
}
