/*
 * Removal (docs/protocol/requests.md § Kinds): an owner's signed request
 * removes any phone, a phone's own request removes itself; nobody else's
 * removes anyone. The payload is the phone key fingerprint (8 bytes) of the
 * phone to remove. The change goes through audit/phones' removePhone: its
 * "removed" entry first (sealed to the phones that stay, and to the removed
 * phone as its removal notice), then the keystore's phone list; every event
 * sealed afterwards leaves the phone out.
 */
import type { PairedPhone } from "device/recipients";
import { loadRecipients } from "device/recipients";
import type { Audit } from "audit/audit";
import { removePhone } from "audit/phones";
import { toHex } from "util/bytes";
import { RequestKinds, RequestRefusal } from "./format";
import type { OpenedRequest } from "./format";
import type { RequestHandler } from "./service";

export const removalPayloadSize = 8;

export function removalHandler(audit: Audit, onRemoved: (phones: PairedPhone[], removed: string) => void): RequestHandler {
	return Object.freeze({
		kind: RequestKinds.remove,
		name: "remove",
		role: "member" as const,
		durable: true,
		handle(request: OpenedRequest, signer: PairedPhone): void {
			if (request.payload.length !== removalPayloadSize)
				throw new RequestRefusal(`a removal names one phone key fingerprint (${removalPayloadSize} bytes), not ${request.payload.length} bytes`);
			const keyId = toHex(request.payload);
			if ((keyId !== signer.keyId) && (signer.role !== "owner"))
				throw new RequestRefusal(`only an owner removes another phone; phone ${signer.keyId} is a ${signer.role}`);
			if (!loadRecipients().some((phone) => phone.keyId === keyId))
				throw new RequestRefusal(`phone ${keyId} is not paired`);
			const remaining = removePhone(audit, keyId, { by: (keyId === signer.keyId) ? "itself" : signer.keyId });
			if (!remaining)
				throw new RequestRefusal(`phone ${keyId} is not paired`);
			onRemoved(remaining, keyId);
		},
	});
}
