/**
 * The version of the wire protocol (`PROTOCOL.md`) this code speaks, one source for both packages:
 * `@switchboard/client` exports it as the protocol it expects, `@switchboard/cdk` as the protocol its
 * handlers serve. Each package's major.minor version tracks it; docs/packages.md ("Compatibility")
 * says which SDK works with which server.
 */
export const PROTOCOL_VERSION = '1.1';
