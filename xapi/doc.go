// Package xapi implements the xAPI 1.0.3 statement rules a conformant
// Learning Record Store needs, without a database or an HTTP server:
// parsing and validating statements, the values the LRS sets, statement
// comparison for the conflict rule, the agent and activity filter keys, the
// query parameters of GET statements, and the document resources' rules:
// their parameters, ETags and JSON merge (document.go), and attachments:
// the multipart/mixed transmission format, the match of attachments and
// their data, and signed statements (attachment.go).
//
// References are to the xAPI 1.0.3 specification (adlnet/xAPI-Spec,
// xAPI-Data.md and xAPI-Communication.md) and to the ADL LRS conformance
// test suite (adlnet/lrs-conformance-test-suite, test/v1_0_3).
//
// # Rules covered
//
// Every rejection is a *ValidationError naming the JSON path, the rule and
// the reason. Rule names:
//
//   - json, encoding: the body is valid UTF-8 JSON (nesting at most 256
//     levels, no escaped lone UTF-16 surrogate in a string);
//     duplicate-property: no property appears twice in an object
//     (Data 2.2.s2.b2).
//   - type: every value has the JSON type the spec requires (strings where
//     numbers or booleans are required are rejected, Data 2.2.s4.b1.b2-b3).
//   - null: no null values except inside extensions (Data 2.2.s4.b1.b1).
//   - unknown-property: only the properties the spec defines, with exact
//     case, in statements, agents, accounts, verbs, activities, definitions,
//     interaction components, results, scores, context, context activities,
//     statement references, SubStatements and attachments
//     (Data 2.2.s4.b1.b5, b7).
//   - required: actor, verb and object; verb id; activity id; account
//     homePage and name; objectType of a Group and of an Agent or Group used
//     as the object; StatementRef objectType and id; interaction component
//     id; attachment usageType, display, contentType, length, sha2.
//   - uuid: statement id, StatementRef ids and context.registration are
//     UUIDs in the standard 8-4-4-4-12 form, any version and variant (the
//     spec only recommends RFC 4122), kept in lower case.
//   - version: "1.0" or starting "1.0." (Data 2.4.10.s3, conformance
//     XAPI-00101).
//   - actor-ifi: an Agent has exactly one inverse functional identifier; a
//     Group has at most one, and none makes it anonymous.
//   - mbox ("mailto:" and one plain address), mbox_sha1sum (40 hex digits),
//     iri (openid is an absolute URI), irl (account homePage), account
//     (non-empty account name).
//   - object-type: objectType values are the exact enumerated strings
//     (Data 2.2.s4.b1.b6).
//   - group: an anonymous Group lists its members in a non-empty member
//     array; group-member: members are Agents, never Groups; team:
//     context.team is a Group; authority: the authority is an Agent or an
//     anonymous Group of exactly two Agents (Data 2.4.9.s3.b1, XAPI-00098).
//   - iri / irl: verb id, activity id, activity type, moreInfo, extension
//     keys, attachment usageType and fileUrl are absolute IRIs with a valid
//     scheme, no whitespace or excluded characters, well-formed percent
//     escapes, and a host for http(s).
//   - language-map: display, name, description and component descriptions
//     are objects with at least one entry, keys that are well-formed RFC
//     5646 tags (grammar, grandfathered tags, no repeated variant or
//     extension singleton, so "de-419-DE" and "ar-a-aaa-b-bbb-a-ccc" are
//     rejected) and string values.
//   - language: context.language is shaped like a language tag (letters and
//     digits in hyphen-separated subtags).
//   - interaction: interactionType is one of the ten values (exact case);
//     correctResponsesPattern is an array of strings; component lists only
//     with an interactionType that supports them (choices for choice and
//     sequencing, scale for likert, source and target for matching, steps
//     for performance); component ids present and distinct.
//   - substatement: a SubStatement has no id, stored, version or authority
//     and does not contain another SubStatement; it is otherwise validated
//     as a statement.
//   - score-range: score.scaled in [-1, 1]; min not greater than max; raw
//     between min and max when they are given.
//   - duration: result.duration is an ISO 8601 duration with designators
//     (years, months and weeks allowed; weeks alone; a fraction only on the
//     smallest component; the alternative format rejected).
//   - context: revision and platform only when the object is an Activity
//     (Data 2.4.6.s4.b1-b2).
//   - context activities: keys parent, grouping, category and other only;
//     each value an Activity or an array of them; single Activities are
//     rewritten as arrays of one in Raw (Data 2.4.6.2.s4.b3).
//   - timestamp: timestamp and a sent stored are ISO 8601 combined date and
//     time (extended or basic format) with a time zone; the "unknown local
//     offset" forms -00, -0000 and -00:00 are rejected (conformance
//     XAPI-00123).
//   - voiding: a statement with the verb voided has a StatementRef object.
//   - attachments: an array of Attachment objects; content-type (an
//     Internet media type with a slash), length (a non-negative integer),
//     sha2 (hex SHA-224/256/384/512), signature (a signature attachment has
//     contentType application/octet-stream).
//   - multipart, attachment-hash (ParseMultipart, Communication 1.5.2): a
//     multipart/mixed body whose first part is application/json and whose
//     other parts each have an X-Experience-API-Hash their data hashes to
//     and a binary transfer encoding (assumed when absent);
//     limit-attachment: at most MaxAttachmentBytes per attachment and
//     MaxAttachmentParts parts (413).
//   - attachment-data, length (CheckAttachmentParts, 1.5.2.s3.b5): every
//     attachment without fileUrl has a part with its sha2 (so in a JSON
//     request every attachment needs a fileUrl), every part belongs to an
//     attachment, and a part that sends Content-Length has that many
//     octets, which is the attachment's length (without the header, length
//     is not compared: see CheckAttachmentParts).
//   - signature (VerifySignature, Data 2.6): a signature attachment's data
//     is a compact JWS with alg RS256, RS384 or RS512 whose payload is
//     Equivalent to the statement as sent and, when its header has x5c,
//     whose signature verifies with x5c[0]'s RSA key (each certificate of
//     the chain signed by the next).
//   - duplicate-id: ids are unique within a batch (Communication 2.1.2.s2.b6).
//
// Query parameters of GET statements (ParseQuery): unknown-parameter
// (including case mismatches, Communication 3.2.s3.b7-b8),
// duplicate-parameter, parameter-combination (statementId and
// voidedStatementId exclude each other and everything except attachments
// and format, Communication 2.1.3.s2), uuid, iri, timestamp, limit, format,
// type (booleans are "true" or "false") and actor-ifi (the agent parameter
// is an Agent or identified Group with exactly one identifier).
//
// # What the LRS sets
//
// Finalize assigns a version 4 id when none was sent, stored, timestamp
// (= stored when none was sent; a sent one is re-serialised in UTC),
// authority (always replaced) and version "1.0.0" when missing.
//
// # Decisions that differ from a literal reading of the brief
//
//   - A missing version is set to "1.0.0", not "1.0.3": Data 2.4.10.s3.b3
//     says "If they lack a version, the version MUST be set to 1.0.0" and
//     Communication 3.3 explains that the statement version stays 1.0.0 for
//     every 1.0.x release. Version ("1.0.3") is for the
//     X-Experience-API-Version header.
//   - Durations with years, months or weeks (P3Y, P1M, P4W) are accepted in
//     statements: the spec lists them as examples and the conformance suite
//     expects 200 for them. ParseDuration, which converts to elapsed time,
//     rejects years and months with ErrCalendarDuration; Result.HasDuration
//     is then false and Result.DurationISO keeps the text.
//   - A timestamp without a time zone is rejected, as the brief asks,
//     although the spec only says a timestamp SHOULD* include one.
//   - context.language only gets a shape check, because the conformance
//     suite expects a 50-letter "language" to be accepted there.
//   - Score min equal to max is accepted (the brief says min ≤ max; the
//     spec's table says min is "less than max").
//
// # Known gaps
//
//   - A signature attachment that has only a fileUrl (no data in the
//     request) is not verified.
//   - Rules that need storage are left to the caller: voiding a voiding
//     statement or a missing target, the 409 conflict decision (use
//     Equivalent), StatementRef chains in filters, voided-statement
//     filtering, storing attachment data once per hash, and the "more"
//     paging link.
//   - Authorization (who may void, who may assert an authority) and
//     X-Experience-API-Version header checks belong to the HTTP layer.
//   - IRIs get best-effort syntax checks, not full RFC 3987 parsing;
//     language tags are checked for well-formedness, not against the IANA
//     registry; leap seconds (:60) are rejected.
//   - The alternative duration format and "P16559.14S" (seconds without T,
//     a typo in the spec's examples table) are rejected.
//   - Interaction response patterns (e.g. "a[,]b") are not parsed; the spec
//     leaves their validation optional.
//   - Formats "ids" and "canonical", language filtering and Accept-Language
//     handling are for the layer that serves statements.
package xapi
