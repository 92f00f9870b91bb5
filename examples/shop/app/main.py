from fastapi import FastAPI

from .routes import catalog, orders, reviews

app = FastAPI(title="shop")
app.include_router(orders.router, prefix="/api")
app.include_router(reviews.router, prefix="/api")
app.include_router(catalog.router, prefix="/api")
