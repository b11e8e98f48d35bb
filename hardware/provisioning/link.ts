/*
 * The onboarding link's types (hardware/provisioning's contract): types only,
 * shared by the contract and by each platform's implementation.
 */

/** One connection of the onboarding link, as the firmware sees it. */
export interface LocalLink {
	/** The connection's ATT MTU: a notification carries at most mtu - 3 bytes. */
	readonly mtu: number;
	/** One notification (a fragment). */
	notify(fragment: Uint8Array): void;
	/** Ends the connection. */
	disconnect(): void;
}
export interface LocalLinkHandlers {
	/** One write on the write characteristic (a fragment). */
	onWrite(fragment: Uint8Array): void;
	onDisconnect(): void;
}
