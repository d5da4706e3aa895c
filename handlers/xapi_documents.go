package handlers

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/xapi"
)

// xapiMaxDocumentBytes bounds one State or profile document: content keeps
// bookmarks and suspend data there, kilobytes; larger files belong in an
// LMS, and the bound keeps one credential from filling the database.
const xapiMaxDocumentBytes = 2 << 20

// xapiDocumentResources maps the document resources' paths under /xapi.
var xapiDocumentResources = map[string]xapi.DocumentResource{
	"/activities/state":   xapi.StateResource,
	"/activities/profile": xapi.ActivityProfileResource,
	"/agents/profile":     xapi.AgentProfileResource,
}

// xapiDocumentRoutes mounts the State, Activity Profile and Agent Profile
// resources (Communication 2.3, 2.6, 2.7) and the Activities and Agents
// resources (2.5, 2.4). GET routes answer HEAD too.
func (h *Handlers) xapiDocumentRoutes(x fiber.Router) {
	for path, r := range xapiDocumentResources {
		g := x.Group(path, h.xapiAuth, h.xapiLimit)
		g.Get("", h.xapiGetDocuments(r))
		g.Put("", h.xapiWriteDocument(r, false))
		g.Post("", h.xapiWriteDocument(r, true))
		g.Delete("", h.xapiDeleteDocuments(r))
	}
	x.Get("/activities", h.xapiAuth, h.xapiLimit, h.xapiGetActivity)
	x.Get("/agents", h.xapiAuth, h.xapiLimit, h.xapiGetAgents)
}

// xapiDocumentQuery parses and validates the request's document query.
func xapiDocumentQuery(c *fiber.Ctx, r xapi.DocumentResource) (xapi.DocumentQuery, error) {
	values, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return xapi.DocumentQuery{}, fiber.NewError(fiber.StatusBadRequest, "the query string is malformed")
	}
	q, err := xapi.ParseDocumentQuery(r, c.Method(), values)
	if err != nil {
		return q, xapiBadRequest(err)
	}
	return q, nil
}

// xapiGetDocuments answers one document with its Content-Type, ETag and
// Last-Modified, or, without a document id, the JSON array of the scope's
// document ids.
func (h *Handlers) xapiGetDocuments(r xapi.DocumentResource) fiber.Handler {
	return func(c *fiber.Ctx) error {
		q, err := xapiDocumentQuery(c, r)
		if err != nil {
			return err
		}
		tenantID := xapiCredential(c).TenantID
		if q.DocumentID == "" {
			ids, err := h.documents.IDs(c.UserContext(), tenantID, q)
			if err != nil {
				return err
			}
			body, err := json.Marshal(ids.IDs)
			if err != nil {
				return err
			}
			setLastModified(c, ids.Updated)
			return sendDocument(c, fiber.MIMEApplicationJSON, body)
		}
		doc, err := h.documents.Get(c.UserContext(), tenantID, q)
		if errors.Is(err, models.ErrNotFound) {
			return fiber.NewError(fiber.StatusNotFound, "no document "+strconv.Quote(q.DocumentID)+" here")
		}
		if err != nil {
			return err
		}
		setLastModified(c, doc.Updated)
		return sendDocument(c, doc.ContentType, doc.Content)
	}
}

// sendDocument answers content with its type and its ETag, which every
// GET carries (Communication 3.1.s4.b1).
func sendDocument(c *fiber.Ctx, contentType string, content []byte) error {
	c.Set(fiber.HeaderETag, `"`+xapi.DocumentETag(content)+`"`)
	c.Set(fiber.HeaderContentType, contentType)
	return c.Send(content)
}

// xapiWriteDocument stores a PUT document as sent, or merges a POSTed JSON
// object into the stored one (Communication 2.2.s7). A profile PUT that
// meets an existing document must carry If-Match or If-None-Match
// (Communication 3.1); State writes need neither, as content saves
// bookmarks without them.
func (h *Handlers) xapiWriteDocument(r xapi.DocumentResource, merge bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		q, err := xapiDocumentQuery(c, r)
		if err != nil {
			return err
		}
		body := c.Body()
		if len(body) > xapiMaxDocumentBytes {
			return fiber.NewError(fiber.StatusRequestEntityTooLarge, "a document is at most "+strconv.Itoa(xapiMaxDocumentBytes)+" bytes, got "+strconv.Itoa(len(body)))
		}
		contentType := c.Get(fiber.HeaderContentType)
		if contentType == "" {
			contentType = fiber.MIMEOctetStream
		}
		if merge && !xapi.IsJSONMediaType(contentType) {
			return fiber.NewError(fiber.StatusBadRequest, "POST merges JSON objects, so its Content-Type must be application/json, got "+contentType+"; PUT other documents")
		}
		cond := xapiCondition(c)
		cond.Required = !merge && r != xapi.StateResource
		err = h.documents.Save(c.UserContext(), xapiCredential(c).TenantID, q,
			models.DocumentWrite{ContentType: contentType, Content: body, Merge: merge, Condition: cond})
		if err != nil {
			return xapiDocumentError(err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// xapiDeleteDocuments deletes one document, or, on the State resource
// without stateId, every document of the scope.
func (h *Handlers) xapiDeleteDocuments(r xapi.DocumentResource) fiber.Handler {
	return func(c *fiber.Ctx) error {
		q, err := xapiDocumentQuery(c, r)
		if err != nil {
			return err
		}
		tenantID := xapiCredential(c).TenantID
		if q.DocumentID == "" {
			err = h.documents.DeleteAll(c.UserContext(), tenantID, q)
		} else {
			err = h.documents.Delete(c.UserContext(), tenantID, q, xapiCondition(c))
		}
		if err != nil {
			return xapiDocumentError(err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// xapiCondition is the request's concurrency headers.
func xapiCondition(c *fiber.Ctx) models.Condition {
	return models.Condition{IfMatch: c.Get(fiber.HeaderIfMatch), IfNoneMatch: c.Get(fiber.HeaderIfNoneMatch)}
}

// xapiDocumentError turns a refused write into its status: 412 for a
// failed precondition, 409 for a missing one, 400 for a merge that is not
// of two JSON objects.
func xapiDocumentError(err error) error {
	var ve *xapi.ValidationError
	switch {
	case errors.Is(err, models.ErrPreconditionFailed):
		return fiber.NewError(fiber.StatusPreconditionFailed, err.Error())
	case errors.Is(err, models.ErrConcurrencyHeaderRequired):
		return fiber.NewError(fiber.StatusConflict, err.Error())
	case errors.As(err, &ve):
		return xapiBadRequest(err)
	}
	return err
}

// xapiGetActivity answers the Activity object of activityId with the
// newest definition the tenant's statements gave it (Communication 2.5).
func (h *Handlers) xapiGetActivity(c *fiber.Ctx) error {
	values, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "the query string is malformed")
	}
	id, err := xapi.ParseActivityQuery(values)
	if err != nil {
		return xapiBadRequest(err)
	}
	def, err := h.statements.ActivityDefinition(c.UserContext(), xapiCredential(c).TenantID, id)
	if err != nil {
		return err
	}
	activity := map[string]any{"objectType": "Activity", "id": id}
	if def != nil {
		activity["definition"] = json.RawMessage(def)
	}
	return c.JSON(activity)
}

// xapiGetAgents answers the Person object of the agent parameter
// (Communication 2.4).
func (h *Handlers) xapiGetAgents(c *fiber.Ctx) error {
	values, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "the query string is malformed")
	}
	a, err := xapi.ParseAgentsQuery(values)
	if err != nil {
		return xapiBadRequest(err)
	}
	return c.JSON(xapi.Person(a))
}
