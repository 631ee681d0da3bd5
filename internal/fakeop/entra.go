package fakeop

// EntraIDUser is a user whose ID tokens carry the claims of a typical
// Entra ID token: name, email, preferred_username, oid, tid and five
// groups. The benchmarks sign it in to measure cookies and tokens of a
// realistic size. Each call returns a fresh copy.
func EntraIDUser() User {
	return User{
		Name: "adele.vance",
		Claims: map[string]any{
			"sub":                "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
			"name":               "Adele Vance",
			"email":              "AdeleV@contoso.onmicrosoft.com",
			"preferred_username": "AdeleV@contoso.onmicrosoft.com",
			"oid":                "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
			"tid":                EntraTenant,
			"groups": []any{
				"0a4d8f5a-6c1b-4a3e-9f7e-2b1d5c8e9f01", "1b5e9a6b-7d2c-4b4f-8a8f-3c2e6d9fa012",
				"2c6fab7c-8e3d-4c5a-9b9a-4d3f7eab1023", "3d7abc8d-9f4e-4d6b-8cab-5e4a8fbc2134",
				"4e8bcd9e-af5f-4e7c-9dbc-6f5b9acd3245",
			},
		},
	}
}

// EntraTenant is EntraIDUser's tenant id, which an Entra ID issuer
// carries: https://login.microsoftonline.com/<tenant>/v2.0.
const EntraTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
