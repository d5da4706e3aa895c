package generator

// Built-in lists the generator combines deterministically. All names are
// plain ASCII so that they make valid email local parts as they are.

var firstNames = []string{
	"Aaliyah", "Aaron", "Abigail", "Adam", "Adebayo", "Aditi", "Adrian", "Aiden", "Aisha", "Alejandro",
	"Alex", "Alexandra", "Alice", "Alina", "Amara", "Amelia", "Amir", "Ana", "Andre", "Andrea",
	"Andrew", "Anika", "Anna", "Anton", "Arjun", "Ava", "Ben", "Benjamin", "Bianca", "Brandon",
	"Caleb", "Camila", "Carlos", "Caroline", "Catherine", "Charlotte", "Chen", "Chloe", "Chris", "Claire",
	"Daniel", "Daniela", "David", "Deepa", "Diana", "Diego", "Dmitri", "Elena", "Eli", "Elif",
	"Elizabeth", "Ella", "Emily", "Emma", "Eric", "Ethan", "Eva", "Fatima", "Felix", "Fiona",
	"Florian", "Gabriel", "Grace", "Hana", "Hannah", "Harper", "Harry", "Hassan", "Helen", "Henry",
	"Hiroshi", "Ian", "Imani", "Isaac", "Isabel", "Isabella", "Ivan", "Jack", "Jacob", "James",
	"Jamie", "Jana", "Jasmine", "Javier", "Jessica", "Jin", "Joanna", "Johan", "John", "Jonas",
	"Jordan", "Jose", "Joseph", "Julia", "Julian", "Kai", "Karen", "Katarina", "Kate", "Kavya",
	"Keisha", "Kenji", "Kevin", "Kofi", "Laila", "Lars", "Laura", "Lauren", "Leah", "Lena",
	"Leo", "Liam", "Lina", "Lucas", "Lucia", "Luis", "Luka", "Maria", "Marcus", "Mariam",
	"Mark", "Marta", "Mateo", "Matthew", "Maya", "Mei", "Mia", "Michael", "Miguel", "Mila",
	"Mohammed", "Nadia", "Naomi", "Nathan", "Neha", "Nia", "Nicholas", "Nikhil", "Nina", "Noah",
	"Nora", "Olivia", "Omar", "Oscar", "Owen", "Paul", "Pedro", "Petra", "Priya", "Rachel",
	"Rahul", "Rebecca", "Ren", "Ricardo", "Robert", "Rohan", "Rosa", "Ryan", "Sakura", "Samuel",
	"Sara", "Sarah", "Sebastian", "Seo-yeon", "Simon", "Sofia", "Sophie", "Stefan", "Sunil", "Tariq",
	"Thomas", "Tim", "Tobias", "Tom", "Tomas", "Valentina", "Vanessa", "Victor", "Vikram", "Wei",
	"William", "Xavier", "Yara", "Yusuf", "Zainab", "Zara", "Zoe", "Zhang", "Ines", "Oliver",
}

var lastNames = []string{
	"Adams", "Afolabi", "Ahmed", "Ali", "Allen", "Alvarez", "Anderson", "Bailey", "Baker", "Banerjee",
	"Becker", "Bennett", "Berg", "Brown", "Campbell", "Carter", "Castillo", "Chan", "Chen", "Choi",
	"Clark", "Collins", "Cooper", "Costa", "Cruz", "Das", "Davies", "Davis", "Diaz", "Dubois",
	"Edwards", "Evans", "Fernandez", "Fischer", "Fleming", "Garcia", "Gomez", "Gonzalez", "Green", "Gupta",
	"Hall", "Hansen", "Harris", "Hartmann", "Hernandez", "Hill", "Hoffmann", "Hughes", "Ibrahim", "Ito",
	"Jackson", "Jensen", "Johnson", "Jones", "Kaur", "Khan", "Kim", "King", "Klein", "Koch",
	"Kowalski", "Kumar", "Lee", "Lewis", "Li", "Lim", "Lopez", "Martin", "Martinez", "Mehta",
	"Mendes", "Meyer", "Miller", "Mitchell", "Moore", "Morales", "Morgan", "Muller", "Murphy", "Nakamura",
	"Nguyen", "Nielsen", "Novak", "Obi", "OConnor", "Okafor", "Olsen", "Ortiz", "Owusu", "Park",
	"Patel", "Perez", "Peters", "Phillips", "Popescu", "Ramirez", "Rao", "Reddy", "Reyes", "Richter",
	"Roberts", "Robinson", "Rodriguez", "Rossi", "Russo", "Sanchez", "Santos", "Sato", "Schmidt", "Schneider",
	"Schulz", "Scott", "Shah", "Sharma", "Silva", "Singh", "Smith", "Sousa", "Stewart", "Suzuki",
	"Tan", "Tanaka", "Taylor", "Thomas", "Thompson", "Torres", "Turner", "Varga", "Walker", "Wang",
	"Ward", "Watson", "Weber", "White", "Williams", "Wilson", "Wong", "Wood", "Wright", "Wu",
	"Yamamoto", "Yang", "Young", "Zhang", "Zhou", "Novotny", "Lindqvist", "Haddad", "Mensah", "Fontaine",
}

// department is a branch of the organisation.
type department struct {
	name    string
	weight  float64  // relative size
	related []string // departments its sub-branches sometimes are
	// Job titles: the individual contributors' (several, the first the most
	// common) and the title stem of its managers ("Sales" → "Sales Manager").
	ics  []string
	stem string
}

var departments = []department{
	{"Engineering", 1.7, []string{"Product", "IT"},
		[]string{"Software Engineer", "Senior Software Engineer", "Software Engineer", "QA Engineer", "Site Reliability Engineer", "Data Engineer", "Staff Engineer"}, "Engineering"},
	{"Sales", 1.5, []string{"Marketing", "Customer Success"},
		[]string{"Account Executive", "Sales Development Representative", "Senior Account Executive", "Sales Engineer", "Sales Operations Analyst"}, "Sales"},
	{"Operations", 1.2, []string{"Finance", "IT", "People"},
		[]string{"Operations Specialist", "Operations Analyst", "Logistics Coordinator", "Facilities Coordinator", "Procurement Specialist"}, "Operations"},
	{"Customer Success", 1.0, []string{"Sales", "Operations"},
		[]string{"Customer Success Manager", "Support Specialist", "Senior Support Specialist", "Implementation Consultant", "Technical Account Manager"}, "Customer Success"},
	{"People", 0.5, []string{"Operations"},
		[]string{"HR Business Partner", "Recruiter", "People Operations Specialist", "Learning & Development Specialist", "Talent Acquisition Partner"}, "People"},
	{"Finance", 0.6, []string{"Operations", "Legal"},
		[]string{"Financial Analyst", "Accountant", "Payroll Specialist", "Senior Financial Analyst", "Accounts Payable Specialist"}, "Finance"},
	{"Marketing", 0.7, []string{"Sales", "Product"},
		[]string{"Marketing Specialist", "Content Marketing Manager", "Product Marketing Manager", "Demand Generation Specialist", "Designer"}, "Marketing"},
	{"Product", 0.7, []string{"Engineering", "Marketing"},
		[]string{"Product Manager", "Product Designer", "UX Researcher", "Senior Product Manager", "Product Analyst"}, "Product"},
	{"IT", 0.5, []string{"Engineering", "Operations"},
		[]string{"IT Support Analyst", "Systems Administrator", "Security Analyst", "Network Engineer", "IT Service Desk Analyst"}, "IT"},
	{"Legal", 0.3, []string{"Finance"},
		[]string{"Legal Counsel", "Paralegal", "Compliance Analyst", "Contracts Manager", "Privacy Specialist"}, "Legal"},
}

// vpTitles are the level-1 titles by department.
var vpTitles = map[string]string{
	"Engineering": "Chief Technology Officer", "Sales": "Chief Revenue Officer", "Operations": "Chief Operating Officer",
	"Customer Success": "VP Customer Success", "People": "Chief People Officer", "Finance": "Chief Financial Officer",
	"Marketing": "Chief Marketing Officer", "Product": "Chief Product Officer", "IT": "Chief Information Officer",
	"Legal": "General Counsel",
}

// seniorICTitles are titles of individual contributors who report above the
// team level (staff experts, assistants, business partners).
var seniorICTitles = map[string]string{
	"Engineering": "Principal Engineer", "Sales": "Strategic Account Director", "Operations": "Senior Program Manager",
	"Customer Success": "Principal Consultant", "People": "Senior HR Business Partner", "Finance": "Finance Business Partner",
	"Marketing": "Senior Brand Manager", "Product": "Principal Product Manager", "IT": "Enterprise Architect",
	"Legal": "Senior Legal Counsel",
}

// location is an office, with the IANA zone of the city, used to pick the
// head office from the tenant's time zone.
type location struct {
	name   string
	zone   string
	weight float64
}

var locations = []location{
	{"London", "Europe/London", 0.26},
	{"New York", "America/New_York", 0.2},
	{"Berlin", "Europe/Berlin", 0.12},
	{"Singapore", "Asia/Singapore", 0.08},
	{"Remote", "", 0.16},
	{"Manchester", "Europe/London", 0.06},
	{"Toronto", "America/Toronto", 0.05},
	{"Sydney", "Australia/Sydney", 0.04},
	{"Austin", "America/Chicago", 0.03},
}

// courseSpec is one course of the built-in catalog.
type courseSpec struct {
	title    string
	category string
	minutes  int
	// Assessment: passMark > 0 when the course ends with a scored
	// assessment; questions > 0 when each answer is sent as a
	// cmi.interaction statement.
	passMark  float64
	questions int
	popular   bool // promoted: many enrolments
	recent    bool // launched during the history (an enrolment spike)
	// affinity: departments (or "managers") much more likely to take it.
	affinity []string
	// Compliance requirement of a required course.
	req reqSpec
}

// reqSpec is the compliance requirement of a required course.
type reqSpec struct {
	department string // "" = everyone
	dueDays    int
	dueFrom    string // "hire" or "assignment"
	recertify  int    // months, 0 = never
}

// requiredCatalog lists the compliance courses in the order they are made
// required: the first few already mix every kind of rule (recertify 12, 24
// and never; a department audience; due from hire and from assignment).
var requiredCatalog = []courseSpec{
	{title: "Information Security Awareness", category: "Security", minutes: 30, passMark: 0.8, questions: 8,
		req: reqSpec{dueDays: 30, dueFrom: "hire", recertify: 12}},
	{title: "Health & Safety", category: "Compliance", minutes: 40, passMark: 0.8,
		req: reqSpec{department: "Operations", dueDays: 60, dueFrom: "assignment", recertify: 12}},
	{title: "Anti-Bribery & Corruption", category: "Compliance", minutes: 35, passMark: 0.8, questions: 6,
		req: reqSpec{dueDays: 90, dueFrom: "hire", recertify: 24}},
	{title: "Code of Conduct", category: "Compliance", minutes: 25,
		req: reqSpec{dueDays: 30, dueFrom: "hire", recertify: 0}},
	{title: "Data Protection (GDPR)", category: "Compliance", minutes: 45, passMark: 0.8, questions: 8,
		req: reqSpec{dueDays: 60, dueFrom: "hire", recertify: 12}},
	{title: "Harassment Prevention", category: "Compliance", minutes: 50, passMark: 0.75,
		req: reqSpec{dueDays: 90, dueFrom: "hire", recertify: 12}},
	{title: "Anti-Money Laundering", category: "Compliance", minutes: 40, passMark: 0.8, questions: 6,
		req: reqSpec{department: "Finance", dueDays: 60, dueFrom: "hire", recertify: 12}},
	{title: "Phishing & Social Engineering", category: "Security", minutes: 20, passMark: 0.8, questions: 5,
		req: reqSpec{dueDays: 30, dueFrom: "hire", recertify: 12}},
	{title: "Modern Slavery Awareness", category: "Compliance", minutes: 20,
		req: reqSpec{dueDays: 90, dueFrom: "hire", recertify: 24}},
	{title: "Diversity, Equity & Inclusion", category: "Compliance", minutes: 45,
		req: reqSpec{dueDays: 90, dueFrom: "hire", recertify: 24}},
}

// onboardingCatalog is assigned to every new hire.
var onboardingCatalog = []courseSpec{
	{title: "Welcome & Company Orientation", category: "Onboarding", minutes: 30},
	{title: "Tools & Systems Essentials", category: "Onboarding", minutes: 45, passMark: 0.7},
	{title: "Your First 90 Days", category: "Onboarding", minutes: 20},
}

// electiveCatalog is everything else, by category.
var electiveCatalog = []courseSpec{
	{title: "Generative AI at Work", category: "Technical", minutes: 60, popular: true, recent: true, passMark: 0.7, questions: 5},
	{title: "Effective Communication", category: "Soft skills", minutes: 60, popular: true},
	{title: "First-Time Manager Essentials", category: "Leadership", minutes: 180, affinity: []string{"managers"}},
	{title: "Python for Data Analysis", category: "Technical", minutes: 240, passMark: 0.7, questions: 8, affinity: []string{"Engineering", "Finance", "Product", "IT"}},
	{title: "Product Fundamentals", category: "Product", minutes: 60, popular: true, passMark: 0.7, affinity: []string{"Sales", "Customer Success", "Marketing"}},
	{title: "Time Management & Prioritisation", category: "Soft skills", minutes: 45, popular: true},
	{title: "Secure Coding Practices", category: "Security", minutes: 120, passMark: 0.8, questions: 6, affinity: []string{"Engineering", "IT"}},
	{title: "Coaching for Performance", category: "Leadership", minutes: 90, affinity: []string{"managers"}},
	{title: "SQL Fundamentals", category: "Technical", minutes: 180, passMark: 0.7, questions: 6, affinity: []string{"Engineering", "Finance", "Product", "Operations"}},
	{title: "Excel: Advanced Formulas", category: "Technical", minutes: 90, popular: true, affinity: []string{"Finance", "Operations", "Sales"}},
	{title: "Giving and Receiving Feedback", category: "Leadership", minutes: 60},
	{title: "Platform Deep Dive", category: "Product", minutes: 45, affinity: []string{"Customer Success", "Sales", "Engineering"}},
	{title: "Presentation Skills", category: "Soft skills", minutes: 90},
	{title: "Cloud Security Essentials", category: "Security", minutes: 90, passMark: 0.8, affinity: []string{"Engineering", "IT"}},
	{title: "Leading Hybrid Teams", category: "Leadership", minutes: 75, affinity: []string{"managers"}},
	{title: "Cloud Fundamentals (AWS)", category: "Technical", minutes: 240, passMark: 0.7, questions: 8, affinity: []string{"Engineering", "IT"}},
	{title: "What's New This Quarter", category: "Product", minutes: 20, recent: true},
	{title: "Negotiation Skills", category: "Soft skills", minutes: 120, affinity: []string{"Sales", "Legal", "Operations"}},
	{title: "Password & Account Hygiene", category: "Security", minutes: 15},
	{title: "Running Effective 1:1s", category: "Leadership", minutes: 45, affinity: []string{"managers"}},
	{title: "Kubernetes Basics", category: "Technical", minutes: 150, passMark: 0.7, affinity: []string{"Engineering", "IT"}},
	{title: "Customer Journey Mapping", category: "Product", minutes: 60, affinity: []string{"Product", "Marketing", "Customer Success"}},
	{title: "Emotional Intelligence at Work", category: "Soft skills", minutes: 60},
	{title: "Secure Remote Working", category: "Security", minutes: 20},
	{title: "Strategic Thinking", category: "Leadership", minutes: 120, affinity: []string{"managers"}},
	{title: "Git & Code Review", category: "Technical", minutes: 60, affinity: []string{"Engineering"}},
	{title: "Pricing & Packaging", category: "Product", minutes: 45, affinity: []string{"Sales", "Product", "Marketing"}},
	{title: "Writing for Business", category: "Soft skills", minutes: 45},
	{title: "Incident Reporting", category: "Security", minutes: 15, passMark: 0.8, questions: 4},
	{title: "Hiring & Interviewing Well", category: "Leadership", minutes: 90, affinity: []string{"managers", "People"}},
	{title: "Data Visualisation Principles", category: "Technical", minutes: 75, affinity: []string{"Finance", "Marketing", "Product"}},
	{title: "Competitive Landscape", category: "Product", minutes: 30, affinity: []string{"Sales", "Marketing"}},
	{title: "Resilience & Wellbeing", category: "Soft skills", minutes: 30},
	{title: "Managing Change", category: "Leadership", minutes: 60, affinity: []string{"managers"}},
	{title: "Introduction to Machine Learning", category: "Technical", minutes: 240, passMark: 0.7, questions: 8, affinity: []string{"Engineering", "Product"}},
	{title: "Consultative Selling", category: "Soft skills", minutes: 120, affinity: []string{"Sales", "Customer Success"}},
	{title: "API Design Best Practices", category: "Technical", minutes: 90, affinity: []string{"Engineering"}},
	{title: "De-escalation Techniques", category: "Soft skills", minutes: 40, affinity: []string{"Customer Success", "Operations"}},
	{title: "Finance for Non-Finance Managers", category: "Leadership", minutes: 90, affinity: []string{"managers"}},
	{title: "Running Great Meetings", category: "Soft skills", minutes: 30},
	{title: "Critical Thinking", category: "Soft skills", minutes: 75},
	{title: "Accessibility Basics", category: "Technical", minutes: 60, affinity: []string{"Engineering", "Product", "Marketing"}},
	{title: "Objection Handling", category: "Soft skills", minutes: 60, affinity: []string{"Sales"}},
	{title: "Cross-Cultural Collaboration", category: "Soft skills", minutes: 45},
	{title: "Roadmap Storytelling", category: "Product", minutes: 45, affinity: []string{"Product", "Engineering"}},
}

// categoryCodes give course codes their prefix.
var categoryCodes = map[string]string{
	"Compliance": "COMP", "Security": "SEC", "Onboarding": "ONB", "Leadership": "LEAD",
	"Technical": "TECH", "Product": "PROD", "Soft skills": "SOFT",
}

// moduleTitles name a course's modules, in order.
var moduleTitles = []string{
	"Introduction", "Why it matters", "Key concepts", "Spotting the risks", "In practice", "Case study",
	"Common mistakes", "Tools and resources", "Working with others", "Scenarios", "Putting it together", "Summary",
}

// hourWeights is the relative chance of a learning session starting at each
// local hour of a weekday: a working-day plateau with a lunchtime dip and
// a little evening learning.
var hourWeights = [24]float64{
	0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.7, 2.2, 4.2, 5.5, 5.2,
	2.6, 3.6, 5.2, 5.0, 4.0, 2.4, 1.1, 0.8, 0.9, 0.6, 0.25, 0.08,
}

// weekendHourWeights is the same for Saturdays and Sundays.
var weekendHourWeights = [24]float64{
	0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.6, 1.2, 1.6, 1.6,
	1.2, 1.2, 1.4, 1.4, 1.2, 1.0, 0.9, 1.0, 1.1, 0.8, 0.3, 0.1,
}
