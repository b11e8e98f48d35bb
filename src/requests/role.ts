/*
 * Roles (docs/protocol/requests.md § Kinds): an owner's signed request makes
 * another paired phone an owner or a member. The payload is the phone key
 * fingerprint (8 bytes) of that phone and its new role (1 byte: 1 owner,
 * 2 member). The change goes through audit/phones' changeRole: its "role"
 * entry first, sealed to every phone, then the keystore's phone list. An
 * owned device keeps at least one owner, so the last owner cannot be made a
 * member (an owner leaves by removing itself once another owner exists).
 */
import type { PairedPhone, Role } from "device/recipients";
import type { Audit } from "audit/audit";
import { changeRole } from "audit/phones";
import { toHex } from "util/bytes";
import { RequestKinds, RequestRefusal } from "./format";
import type { OpenedRequest } from "./format";
import type { RequestHandler } from "./service";

export const rolePayloadSize = 9;

/** The role byte of the payload; never renumbered. */
const roles: Readonly<Record<number, Role>> = Object.freeze({ 1: "owner", 2: "member" });

export function roleHandler(audit: Audit, onChanged: (phones: PairedPhone[]) => void): RequestHandler {
	return Object.freeze({
		kind: RequestKinds.role,
		name: "role",
		role: "owner" as const,
		durable: true,
		handle(request: OpenedRequest, signer: PairedPhone): void {
			if (request.payload.length !== rolePayloadSize)
				throw new RequestRefusal(`a role change names one phone key fingerprint and a role (${rolePayloadSize} bytes), not ${request.payload.length} bytes`);
			const keyId = toHex(request.payload.subarray(0, 8));
			const role = roles[request.payload[8]];
			if (!role)
				throw new RequestRefusal(`role ${request.payload[8]} is not a role (1 owner, 2 member)`);
			let changed: PairedPhone[] | undefined;
			try {
				changed = changeRole(audit, keyId, role, { by: (keyId === signer.keyId) ? "itself" : signer.keyId });
			}
			catch (error) {
				throw new RequestRefusal((error as Error).message);
			}
			if (!changed)
				throw new RequestRefusal(`phone ${keyId} is not paired, or is a ${role} already`);
			onChanged(changed);
		},
	});
}
