/*
 * The factory reset (docs/protocol/onboarding.md § Factory reset): holding
 * the button for 10 s erases the phones, the Wi-Fi network and any
 * invitation, and keeps the factory identity (the keys, the device id, the
 * certificate, the update root, the setup code's verifier, the audit log).
 *
 * In the order of audit/audit: the "reset" entry first, sealed to the old
 * phones and queued in the outbox (so they hear of it whenever the device is
 * next online: now, if it is), then the erasing. A power cut after the entry
 * is finished at the next boot (recoverReset). The device is then unowned and
 * opens a commissioning window for the label's code.
 */
import { clearRecipients, loadRecipients } from "device/recipients";
import type { PairedPhone } from "device/recipients";
import type { Audit } from "audit/audit";
import type { AuditEntry } from "audit/entry";
import { eraseNetwork, storedNetwork } from "onboarding/wifi";
import { storedInvitation, storeInvitation, storeFailures } from "onboarding/setup-code";

function erase(): PairedPhone[] {
	const phones = clearRecipients();
	eraseNetwork();
	if (storedInvitation())
		storeInvitation(undefined);
	storeFailures(0);
	return phones;
}

/** Resets the device: its entry, sealed to the phones it had, then the erasing. Returns the (empty) phone list. */
export function factoryReset(audit: Audit): PairedPhone[] {
	const phones = loadRecipients();
	let after: PairedPhone[] = [];
	audit.record({ type: "reset", phones: phones.length, wifi: storedNetwork() !== undefined }, { readers: phones, apply: () => (after = erase()) });
	return after;
}

/** At boot: a reset whose entry is the newest and whose erasing a power cut stopped is finished now. */
export function recoverReset(audit: Audit): AuditEntry | undefined {
	return audit.recover((entry) => {
		if ((entry.type !== "reset") || (!loadRecipients().length && !storedNetwork() && !storedInvitation()))
			return undefined;
		return { readers: loadRecipients(), apply: erase };
	});
}
