package xapi

// Version is the xAPI version this LRS speaks and sends in the
// X-Experience-API-Version header.
const Version = "1.0.3"

// StatementVersion is the "version" property Finalize gives a statement that
// has none. The spec requires 1.0.0 here, not the patch version of the API
// (Data 2.4.10.s3.b3 and the note in Communication 3.3).
const StatementVersion = "1.0.0"

// Verbs the pipeline maps: the ADL verbs, plus the cmi5 verbs that live
// under w3id.org.
const (
	VerbVoided      = "http://adlnet.gov/expapi/verbs/voided"
	VerbRegistered  = "http://adlnet.gov/expapi/verbs/registered"
	VerbLaunched    = "http://adlnet.gov/expapi/verbs/launched"
	VerbInitialized = "http://adlnet.gov/expapi/verbs/initialized"
	VerbProgressed  = "http://adlnet.gov/expapi/verbs/progressed"
	VerbExperienced = "http://adlnet.gov/expapi/verbs/experienced"
	VerbCompleted   = "http://adlnet.gov/expapi/verbs/completed"
	VerbPassed      = "http://adlnet.gov/expapi/verbs/passed"
	VerbFailed      = "http://adlnet.gov/expapi/verbs/failed"
	VerbScored      = "http://adlnet.gov/expapi/verbs/scored"
	VerbAttempted   = "http://adlnet.gov/expapi/verbs/attempted"
	VerbAnswered    = "http://adlnet.gov/expapi/verbs/answered"
	VerbTerminated  = "http://adlnet.gov/expapi/verbs/terminated"
	VerbSuspended   = "http://adlnet.gov/expapi/verbs/suspended"
	VerbResumed     = "http://adlnet.gov/expapi/verbs/resumed"
	VerbAbandoned   = "https://w3id.org/xapi/adl/verbs/abandoned" // cmi5
	VerbWaived      = "https://w3id.org/xapi/adl/verbs/waived"    // cmi5
	VerbSatisfied   = "https://w3id.org/xapi/adl/verbs/satisfied" // cmi5
)

// ActivityTypeInteraction is the activity type of cmi.interaction activities (questions).
const ActivityTypeInteraction = "http://adlnet.gov/expapi/activities/cmi.interaction"

// CategoryCMI5 is the context category activity that marks a cmi5-defined statement.
const CategoryCMI5 = "https://w3id.org/xapi/cmi5/context/categories/cmi5"

// AttachmentUsageSignature is the usageType of a JWS signature attachment (Data 2.6).
const AttachmentUsageSignature = "http://adlnet.gov/expapi/attachments/signature"
