"""The aion-factory policy pack's checks.

Pure checks (`power`, `pools`, `tenants`, `secrets` over `view.Seen`) import
neither Pulumi nor pulumi-policy; `pack` and `hooks` wire them into pulumi-policy.
"""
