package xapi

import (
	"encoding/json"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Statement is one parsed and validated statement.
type Statement struct {
	ID                string              // lower-case canonical UUID; "" until Finalize if the client sent none
	Actor             Agent               // the actor (an Agent, identified Group or anonymous Group)
	VerbID            string              // verb IRI
	VerbDisplay       map[string]string   // verb display language map, nil if absent
	ObjectType        string              // "Activity", "Agent", "Group", "StatementRef" or "SubStatement"
	ObjectID          string              // activity IRI, or the referenced statement id for StatementRef, or "" otherwise
	ObjectAgent       *Agent              // when the object is an Agent/Group
	ActivityName      map[string]string   // definition.name when the object is an Activity
	ActivityType      string              // definition.type
	InteractionType   string              // definition.interactionType (cmi.interaction), if any
	Result            *Result             // nil if the statement has no result
	Registration      string              // context.registration, canonical UUID or ""
	ContextActivities map[string][]string // "parent", "grouping", "category", "other" → activity ids
	Instructor        *Agent              // context.instructor
	Team              *Agent              // context.team
	Timestamp         time.Time           // zero if the client sent none (Finalize then sets it to stored)
	Stored            time.Time           // set by Finalize (a client-sent stored is validated, then ignored)
	Authority         *Agent              // the client's authority after parsing; replaced by Finalize
	Voids             string              // for the verb VerbVoided: the id of the statement it voids
	Sub               *Statement          // the SubStatement when ObjectType is "SubStatement"
	Attachments       []Attachment        // the statement's attachments (a SubStatement's are in Sub.Attachments)
	Raw               map[string]any      // the statement JSON object as decoded (json.Number for numbers), updated by Finalize
}

// Result is the statement's result.
type Result struct {
	Scaled, Raw, Min, Max *float64 // score
	Success, Completion   *bool
	Response              string
	Duration              time.Duration // elapsed time, valid when HasDuration
	HasDuration           bool          // the duration has a fixed length (no years or months) that fits a time.Duration
	DurationISO           string        // the duration exactly as sent, "" if absent
}

var (
	statementKeys    = []string{"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version", "attachments"}
	subStatementKeys = []string{"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
	definitionKeys   = []string{"name", "description", "type", "moreInfo", "extensions", "interactionType", "correctResponsesPattern", "choices", "scale", "source", "target", "steps"}
	contextKeys      = []string{"registration", "instructor", "team", "contextActivities", "revision", "platform", "language", "statement", "extensions"}
	attachmentKeys   = []string{"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"}
	contextActTypes  = []string{"parent", "grouping", "category", "other"}
	componentLists   = []string{"choices", "scale", "source", "target", "steps"}
)

// interactionLists maps each interactionType to the component lists it supports (Data 2.4.4.1.s15).
var interactionLists = map[string][]string{
	"true-false":   nil,
	"choice":       {"choices"},
	"fill-in":      nil,
	"long-fill-in": nil,
	"matching":     {"source", "target"},
	"performance":  {"steps"},
	"sequencing":   {"choices"},
	"likert":       {"scale"},
	"numeric":      nil,
	"other":        nil,
}

// ParseStatements parses a POST body: one statement object or a JSON array
// of them (an empty array is valid). Every rule listed in the package
// documentation is checked; the first failure is returned as a
// *ValidationError whose path is prefixed "statements[i]." for arrays.
// Numbers are kept as json.Number in Raw so values survive unchanged.
func ParseStatements(body []byte) ([]Statement, error) {
	v, err := decodeJSON(body)
	if err != nil {
		if ve, ok := err.(*ValidationError); ok && strings.HasPrefix(ve.Path, "[") {
			ve.Path = "statements" + ve.Path
		}
		return nil, err
	}
	switch t := v.(type) {
	case map[string]any:
		s, err := parseStatementObject(t, "")
		if err != nil {
			return nil, err
		}
		return []Statement{s}, nil
	case []any:
		out := make([]Statement, 0, len(t))
		seen := map[string]int{}
		for i, e := range t {
			p := index("statements", i)
			obj, ok := e.(map[string]any)
			if !ok {
				return nil, verr(p, "type", "must be a statement object, got %s", jsonTypeName(e))
			}
			s, err := parseStatementObject(obj, p)
			if err != nil {
				return nil, err
			}
			if s.ID != "" {
				if j, dup := seen[s.ID]; dup {
					return nil, verr(join(p, "id"), "duplicate-id", "statement id %s is also used by statements[%d]; ids must be unique within a batch", s.ID, j)
				}
				seen[s.ID] = i
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, verr("", "type", "body must be a statement object or an array of statements, got %s", jsonTypeName(v))
}

// ParseStatement parses exactly one statement object (the body of a PUT).
func ParseStatement(body []byte) (Statement, error) {
	v, err := decodeJSON(body)
	if err != nil {
		return Statement{}, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Statement{}, verr("", "type", "body must be a single statement object, got %s", jsonTypeName(v))
	}
	return parseStatementObject(obj, "")
}

func parseStatementObject(obj map[string]any, path string) (Statement, error) {
	if err := checkNulls(obj, path); err != nil {
		return Statement{}, err
	}
	s, err := validateStatement(obj, path, false)
	if err != nil {
		return Statement{}, err
	}
	return s, nil
}

// validateStatement checks a statement (or, with sub, a SubStatement) and
// extracts its fields. It normalises single context activities to arrays in obj.
func validateStatement(obj map[string]any, path string, sub bool) (Statement, error) {
	s := Statement{Raw: obj}
	if sub {
		for _, k := range []string{"id", "stored", "version", "authority"} {
			if _, ok := obj[k]; ok {
				return s, verr(join(path, k), "substatement", "a SubStatement must not have %q", k)
			}
		}
		if err := checkKeys(obj, path, subStatementKeys...); err != nil {
			return s, err
		}
	} else if err := checkKeys(obj, path, statementKeys...); err != nil {
		return s, err
	}
	what := "statement"
	if sub {
		what = "a SubStatement"
	}
	for _, k := range []string{"actor", "verb", "object"} {
		if _, ok := obj[k]; !ok {
			return s, verr(join(path, k), "required", "%s must have %q", what, k)
		}
	}

	if id, ok, err := optString(obj, "id", path); err != nil {
		return s, err
	} else if ok {
		c, valid := canonicalUUID(id)
		if !valid {
			return s, verr(join(path, "id"), "uuid", "must be a UUID in standard form such as 3fa85f64-5717-4562-b3fc-2c963f66afa6, got %q", id)
		}
		s.ID = c
	}

	actor, err := parseAgent(obj["actor"], join(path, "actor"), roleActor)
	if err != nil {
		return s, err
	}
	s.Actor = actor

	if err := parseVerb(&s, obj["verb"], join(path, "verb")); err != nil {
		return s, err
	}
	if err := parseObject(&s, obj["object"], join(path, "object"), sub); err != nil {
		return s, err
	}
	if rv, ok := obj["result"]; ok {
		r, err := parseResult(rv, join(path, "result"))
		if err != nil {
			return s, err
		}
		s.Result = r
	}
	if cv, ok := obj["context"]; ok {
		if err := parseContext(&s, cv, join(path, "context")); err != nil {
			return s, err
		}
	}
	if ts, ok, err := optString(obj, "timestamp", path); err != nil {
		return s, err
	} else if ok {
		t, msg := parseTimestamp(ts)
		if msg != "" {
			return s, verr(join(path, "timestamp"), "timestamp", "%s, got %q", msg, ts)
		}
		s.Timestamp = t
	}
	if ts, ok, err := optString(obj, "stored", path); err != nil {
		return s, err
	} else if ok {
		if _, msg := parseTimestamp(ts); msg != "" {
			return s, verr(join(path, "stored"), "timestamp", "%s, got %q", msg, ts)
		}
	}
	if av, ok := obj["authority"]; ok {
		a, err := parseAgent(av, join(path, "authority"), roleAuthority)
		if err != nil {
			return s, err
		}
		s.Authority = &a
	}
	if v, ok, err := optString(obj, "version", path); err != nil {
		return s, err
	} else if ok && v != "1.0" && !strings.HasPrefix(v, "1.0.") {
		return s, verr(join(path, "version"), "version", `must be "1.0" or start with "1.0." (this LRS speaks xAPI 1.0.x), got %q`, v)
	}
	if av, ok := obj["attachments"]; ok {
		atts, err := parseAttachments(av, join(path, "attachments"))
		if err != nil {
			return s, err
		}
		s.Attachments = atts
	}
	if !sub && s.VerbID == VerbVoided {
		if s.ObjectType != "StatementRef" {
			return s, verr(join(path, "object"), "voiding", "a statement with the verb %s must have an object with objectType \"StatementRef\" giving the id of the statement it voids, got %q", VerbVoided, s.ObjectType)
		}
		s.Voids = s.ObjectID
	}
	return s, nil
}

func parseVerb(s *Statement, v any, path string) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return typeErr(path, "a Verb object", v)
	}
	if err := checkKeys(obj, path, "id", "display"); err != nil {
		return err
	}
	id, err := reqIRI(obj, "id", path, "verb id")
	if err != nil {
		return err
	}
	disp, err := optLangMap(obj, "display", path)
	if err != nil {
		return err
	}
	s.VerbID, s.VerbDisplay = id, disp
	return nil
}

func parseObject(s *Statement, v any, path string, inSub bool) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return typeErr(path, "an object (Activity, Agent, Group, StatementRef or SubStatement)", v)
	}
	ot, has, err := optString(obj, "objectType", path)
	if err != nil {
		return err
	}
	if !has {
		for _, k := range []string{"mbox", "mbox_sha1sum", "openid", "account", "member"} {
			if _, ok := obj[k]; ok {
				return verr(join(path, "objectType"), "required", `an Agent or Group used as the object must have objectType "Agent" or "Group" (without it the object is taken to be an Activity)`)
			}
		}
		ot = "Activity"
	}
	switch ot {
	case "Activity":
		act, err := parseActivity(obj, path)
		if err != nil {
			return err
		}
		s.ObjectID, s.ActivityName, s.ActivityType, s.InteractionType = act.id, act.name, act.typ, act.interaction
	case "Agent", "Group":
		a, err := parseAgent(obj, path, roleObject)
		if err != nil {
			return err
		}
		s.ObjectAgent = &a
	case "StatementRef":
		id, err := parseStatementRef(obj, path)
		if err != nil {
			return err
		}
		s.ObjectID = id
	case "SubStatement":
		if inSub {
			return verr(join(path, "objectType"), "substatement", "a SubStatement must not contain another SubStatement")
		}
		sub, err := validateStatement(obj, path, true)
		if err != nil {
			return err
		}
		s.Sub = &sub
	default:
		return verr(join(path, "objectType"), "object-type", `must be "Activity", "Agent", "Group", "StatementRef" or "SubStatement" (case sensitive), got %q`, ot)
	}
	s.ObjectType = ot
	return nil
}

// activityInfo is what a statement keeps of an Activity.
type activityInfo struct {
	id, typ, interaction string
	name                 map[string]string
}

func parseActivity(obj map[string]any, path string) (activityInfo, error) {
	var act activityInfo
	if err := checkKeys(obj, path, "objectType", "id", "definition"); err != nil {
		return act, err
	}
	if ot, has, err := optString(obj, "objectType", path); err != nil {
		return act, err
	} else if has && ot != "Activity" {
		return act, verr(join(path, "objectType"), "object-type", `must be "Activity" (case sensitive), got %q`, ot)
	}
	id, err := reqIRI(obj, "id", path, "activity id")
	if err != nil {
		return act, err
	}
	act.id = id
	def, ok, err := optObject(obj, "definition", path)
	if err != nil || !ok {
		return act, err
	}
	dp := join(path, "definition")
	if err := checkKeys(def, dp, definitionKeys...); err != nil {
		return act, err
	}
	if act.name, err = optLangMap(def, "name", dp); err != nil {
		return act, err
	}
	if _, err := optLangMap(def, "description", dp); err != nil {
		return act, err
	}
	if act.typ, err = optIRI(def, "type", dp, "iri"); err != nil {
		return act, err
	}
	if _, err := optIRI(def, "moreInfo", dp, "irl"); err != nil {
		return act, err
	}
	if err := optExtensions(def, dp); err != nil {
		return act, err
	}
	if act.interaction, err = parseInteraction(def, dp); err != nil {
		return act, err
	}
	return act, nil
}

// parseInteraction checks the interaction properties of an activity definition.
func parseInteraction(def map[string]any, dp string) (string, error) {
	it, hasIT, err := optString(def, "interactionType", dp)
	if err != nil {
		return "", err
	}
	allowed, known := interactionLists[it]
	if hasIT && !known {
		return "", verr(join(dp, "interactionType"), "interaction", "must be one of true-false, choice, fill-in, long-fill-in, matching, performance, sequencing, likert, numeric or other (case sensitive), got %q", it)
	}
	if v, ok := def["correctResponsesPattern"]; ok {
		p := join(dp, "correctResponsesPattern")
		if !hasIT {
			return "", verr(p, "interaction", "correctResponsesPattern is only allowed on interaction activities, which must have an interactionType")
		}
		arr, isArr := v.([]any)
		if !isArr {
			return "", typeErr(p, "an array of strings", v)
		}
		for i, e := range arr {
			if _, isStr := e.(string); !isStr {
				return "", typeErr(index(p, i), "a string", e)
			}
		}
	}
	for _, list := range componentLists {
		v, ok := def[list]
		if !ok {
			continue
		}
		p := join(dp, list)
		if !hasIT {
			return "", verr(p, "interaction", "%s is only allowed on interaction activities, which must have an interactionType", list)
		}
		if !slices.Contains(allowed, list) {
			return "", verr(p, "interaction", "%s is not allowed for interactionType %q", list, it)
		}
		arr, isArr := v.([]any)
		if !isArr {
			return "", typeErr(p, "an array of interaction components", v)
		}
		ids := map[string]bool{}
		for i, e := range arr {
			cp := index(p, i)
			comp, isObj := e.(map[string]any)
			if !isObj {
				return "", typeErr(cp, "an interaction component object", e)
			}
			if err := checkKeys(comp, cp, "id", "description"); err != nil {
				return "", err
			}
			id, has, err := optString(comp, "id", cp)
			if err != nil {
				return "", err
			}
			if !has || id == "" {
				return "", verr(join(cp, "id"), "required", "interaction component must have a non-empty id")
			}
			if ids[id] {
				return "", verr(join(cp, "id"), "interaction", "interaction component id %q is used twice in %s; ids must be distinct", id, list)
			}
			ids[id] = true
			if _, err := optLangMap(comp, "description", cp); err != nil {
				return "", err
			}
		}
	}
	return it, nil
}

// parseStatementRef checks a Statement Reference and returns the canonical id.
func parseStatementRef(obj map[string]any, path string) (string, error) {
	if err := checkKeys(obj, path, "objectType", "id"); err != nil {
		return "", err
	}
	ot, has, err := optString(obj, "objectType", path)
	if err != nil {
		return "", err
	}
	if !has {
		return "", verr(join(path, "objectType"), "required", `a Statement Reference must have objectType "StatementRef"`)
	}
	if ot != "StatementRef" {
		return "", verr(join(path, "objectType"), "object-type", `must be "StatementRef", got %q`, ot)
	}
	id, has, err := optString(obj, "id", path)
	if err != nil {
		return "", err
	}
	if !has {
		return "", verr(join(path, "id"), "required", "a Statement Reference must have the id of a statement")
	}
	c, ok := canonicalUUID(id)
	if !ok {
		return "", verr(join(path, "id"), "uuid", "must be a UUID in standard form, got %q", id)
	}
	return c, nil
}

func parseResult(v any, path string) (*Result, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, typeErr(path, "a Result object", v)
	}
	if err := checkKeys(obj, path, "score", "success", "completion", "response", "duration", "extensions"); err != nil {
		return nil, err
	}
	r := &Result{}
	if score, ok, err := optObject(obj, "score", path); err != nil {
		return nil, err
	} else if ok {
		sp := join(path, "score")
		if err := checkKeys(score, sp, "scaled", "raw", "min", "max"); err != nil {
			return nil, err
		}
		for _, f := range []struct {
			key string
			dst **float64
		}{{"scaled", &r.Scaled}, {"raw", &r.Raw}, {"min", &r.Min}, {"max", &r.Max}} {
			if *f.dst, err = optNumber(score, f.key, sp); err != nil {
				return nil, err
			}
		}
		if r.Scaled != nil && (*r.Scaled < -1 || *r.Scaled > 1) {
			return nil, verr(join(sp, "scaled"), "score-range", "must be between -1 and 1 inclusive, got %s", fmtNum(*r.Scaled))
		}
		if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
			return nil, verr(join(sp, "min"), "score-range", "min (%s) must not be greater than max (%s)", fmtNum(*r.Min), fmtNum(*r.Max))
		}
		if r.Raw != nil && r.Min != nil && *r.Raw < *r.Min {
			return nil, verr(join(sp, "raw"), "score-range", "raw (%s) must not be less than min (%s)", fmtNum(*r.Raw), fmtNum(*r.Min))
		}
		if r.Raw != nil && r.Max != nil && *r.Raw > *r.Max {
			return nil, verr(join(sp, "raw"), "score-range", "raw (%s) must not be greater than max (%s)", fmtNum(*r.Raw), fmtNum(*r.Max))
		}
	}
	var err error
	if r.Success, err = optBool(obj, "success", path); err != nil {
		return nil, err
	}
	if r.Completion, err = optBool(obj, "completion", path); err != nil {
		return nil, err
	}
	if r.Response, _, err = optString(obj, "response", path); err != nil {
		return nil, err
	}
	if d, ok, err := optString(obj, "duration", path); err != nil {
		return nil, err
	} else if ok {
		if _, err := parseDurationParts(d); err != nil {
			return nil, &ValidationError{Path: join(path, "duration"), Rule: "duration",
				Message: "must be an ISO 8601 duration such as PT1H30M or P1DT2.5S, got " + strconv.Quote(d) + ": " + err.Error(), Err: err}
		}
		r.DurationISO = d
		if dur, err := ParseDuration(d); err == nil {
			r.Duration, r.HasDuration = dur, true
		}
	}
	if err := optExtensions(obj, path); err != nil {
		return nil, err
	}
	return r, nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func parseContext(s *Statement, v any, path string) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return typeErr(path, "a Context object", v)
	}
	if err := checkKeys(obj, path, contextKeys...); err != nil {
		return err
	}
	if reg, ok, err := optString(obj, "registration", path); err != nil {
		return err
	} else if ok {
		c, valid := canonicalUUID(reg)
		if !valid {
			return verr(join(path, "registration"), "uuid", "must be a UUID in standard form, got %q", reg)
		}
		s.Registration = c
	}
	if iv, ok := obj["instructor"]; ok {
		a, err := parseAgent(iv, join(path, "instructor"), roleInstructor)
		if err != nil {
			return err
		}
		s.Instructor = &a
	}
	if tv, ok := obj["team"]; ok {
		a, err := parseAgent(tv, join(path, "team"), roleTeam)
		if err != nil {
			return err
		}
		s.Team = &a
	}
	if err := parseContextActivities(s, obj, path); err != nil {
		return err
	}
	for _, k := range []string{"revision", "platform"} {
		if _, ok, err := optString(obj, k, path); err != nil {
			return err
		} else if ok && s.ObjectType != "Activity" {
			return verr(join(path, k), "context", "context.%s must only be used when the statement's object is an Activity (object is %s)", k, s.ObjectType)
		}
	}
	if lang, ok, err := optString(obj, "language", path); err != nil {
		return err
	} else if ok && !looseLanguageTag(lang) {
		return verr(join(path, "language"), "language", "must be an RFC 5646 language tag such as en or en-US, got %q", lang)
	}
	if ref, ok, err := optObject(obj, "statement", path); err != nil {
		return err
	} else if ok {
		if _, err := parseStatementRef(ref, join(path, "statement")); err != nil {
			return err
		}
	}
	return optExtensions(obj, path)
}

// parseContextActivities checks context.contextActivities and rewrites
// single Activity objects as arrays of one (Data 2.4.6.2.s4.b3).
func parseContextActivities(s *Statement, ctx map[string]any, path string) error {
	ca, ok, err := optObject(ctx, "contextActivities", path)
	if err != nil || !ok {
		return err
	}
	cp := join(path, "contextActivities")
	if err := checkKeys(ca, cp, contextActTypes...); err != nil {
		return err
	}
	out := map[string][]string{}
	for _, key := range contextActTypes {
		v, ok := ca[key]
		if !ok {
			continue
		}
		var items []any
		switch t := v.(type) {
		case map[string]any:
			items = []any{t}
			ca[key] = items
		case []any:
			items = t
		default:
			return typeErr(join(cp, key), "an Activity object or an array of Activity objects", v)
		}
		ids := []string{}
		for i, it := range items {
			ip := index(join(cp, key), i)
			m, isObj := it.(map[string]any)
			if !isObj {
				return typeErr(ip, "an Activity object", it)
			}
			act, err := parseActivity(m, ip)
			if err != nil {
				return err
			}
			ids = append(ids, act.id)
		}
		out[key] = ids
	}
	s.ContextActivities = out
	return nil
}

// parseAttachments checks the attachments array and returns its
// attachments. Whether each one's data must travel with the statement
// (an attachment without fileUrl) is the request's to check: see
// CheckAttachmentParts.
func parseAttachments(v any, path string) ([]Attachment, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, typeErr(path, "an array of Attachment objects", v)
	}
	out := make([]Attachment, 0, len(arr))
	for i, e := range arr {
		ap := index(path, i)
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, typeErr(ap, "an Attachment object", e)
		}
		if err := checkKeys(obj, ap, attachmentKeys...); err != nil {
			return nil, err
		}
		usage, err := reqIRI(obj, "usageType", ap, "usageType")
		if err != nil {
			return nil, err
		}
		if _, ok := obj["display"]; !ok {
			return nil, verr(join(ap, "display"), "required", "attachment must have a display language map")
		}
		if _, err := optLangMap(obj, "display", ap); err != nil {
			return nil, err
		}
		if _, err := optLangMap(obj, "description", ap); err != nil {
			return nil, err
		}
		ct, ok, err := optString(obj, "contentType", ap)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, verr(join(ap, "contentType"), "required", "attachment must have a contentType")
		}
		if !validMediaType(ct) {
			return nil, verr(join(ap, "contentType"), "content-type", "must be an Internet media type such as text/plain or application/pdf, got %q", ct)
		}
		lv, ok := obj["length"]
		if !ok {
			return nil, verr(join(ap, "length"), "required", "attachment must have a length")
		}
		n, isNum := lv.(json.Number)
		if !isNum {
			return nil, typeErr(join(ap, "length"), "an integer number of octets", lv)
		}
		length, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || length < 0 {
			return nil, verr(join(ap, "length"), "length", "must be a non-negative integer number of octets, got %s", n)
		}
		sha, ok, err := optString(obj, "sha2", ap)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, verr(join(ap, "sha2"), "required", "attachment must have a sha2 hash")
		}
		if !validSHA2(sha) {
			return nil, verr(join(ap, "sha2"), "sha2", "must be a hex-encoded SHA-2 hash (SHA-224, SHA-256, SHA-384 or SHA-512), got %q", sha)
		}
		fileURL, _, err := optString(obj, "fileUrl", ap)
		if err != nil {
			return nil, err
		}
		if _, err := optIRI(obj, "fileUrl", ap, "irl"); err != nil {
			return nil, err
		}
		if usage == AttachmentUsageSignature {
			mt, _, _ := mime.ParseMediaType(ct)
			if mt != "application/octet-stream" {
				return nil, verr(join(ap, "contentType"), "signature", "a signature attachment (usageType %s) must have contentType application/octet-stream, got %q", AttachmentUsageSignature, ct)
			}
		}
		out = append(out, Attachment{Path: ap, UsageType: usage, ContentType: ct, Length: length,
			SHA2: strings.ToLower(sha), FileURL: fileURL})
	}
	return out, nil
}
